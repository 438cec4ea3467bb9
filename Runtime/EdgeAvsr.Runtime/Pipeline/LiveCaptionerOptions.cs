namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>How <see cref="LiveCaptioner"/> recovers from faults and carries media across a task switch.</summary>
public sealed record LiveCaptionerOptions
{
    /// <summary>
    /// Wait before rebuilding after the second fault in a row (no caption between them); it doubles with each further
    /// fault up to <see cref="MaxBackoff"/>. The first fault is rebuilt at once. Chunks that arrive meanwhile are dropped.
    /// </summary>
    public TimeSpan FirstBackoff { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Faults in a row that are <see cref="EdgeAvsrException"/>s (the models or their input are wrong, which a rebuild
    /// does not mend) after which the captioner stops and the run fails with the last one.
    /// </summary>
    public int MaxModelFaults { get; init; } = 5;

    /// <summary>
    /// Stream time of recent chunks kept so that the next pipeline after a switch gets the media the last one did not
    /// use (the camera's frames after the microphone went quiet, when switching to VSR).
    /// </summary>
    public TimeSpan Replay { get; init; } = TimeSpan.FromSeconds(5);
}
