using EdgeAvsr.Runtime.Video;

namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>Which streams a source delivers (decides the task under <c>--task auto</c>).</summary>
public readonly record struct MediaStreams(bool HasAudio, bool HasVideo)
{
    public override string ToString() => (HasAudio, HasVideo) switch
    {
        (true, true) => "audio and video",
        (true, false) => "audio only",
        (false, true) => "video only",
        _ => "no streams",
    };
}
