namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>
/// A change of task at stream time <see cref="At"/> (seconds): from and to a task, null while none could run. The
/// pipeline that ran until then finished its utterance in progress from the media that had arrived:
/// <see cref="FinalsFlushed"/> finals came out after the switch began (that utterance's, and any still in its queues),
/// and <see cref="FinalsDropped"/> were given up because the video they needed never came (the camera stopped before
/// they began).
/// </summary>
public sealed record LiveSwitch(double At, AvsrTask? From, AvsrTask? To, string Why, int FinalsFlushed, int FinalsDropped);
