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

/// <summary>A piece of a clock-stamped media stream; <see cref="Timestamp"/> is the stream time of its first sample or frame.</summary>
public abstract record MediaChunk(TimeSpan Timestamp);

/// <summary>16 kHz mono samples.</summary>
public sealed record AudioChunk(TimeSpan Timestamp, float[] Samples) : MediaChunk(Timestamp);

/// <summary>96x96 grayscale mouth crops at 25 fps (the video front-end's input).</summary>
public sealed record VideoChunk(TimeSpan Timestamp, GrayFrames Crops) : MediaChunk(Timestamp);

/// <summary>The stream-time constants every stage shares: positions are counted in 16 kHz samples, one video frame is 640 of them.</summary>
public static class StreamClock
{
    public const int SampleRate = 16000;
    public const int FrameRate = 25;
    public const int SamplesPerFrame = SampleRate / FrameRate;

    public static double Seconds(long samples) => (double)samples / SampleRate;

    public static long Samples(TimeSpan time) => (long)Math.Round(time.TotalSeconds * SampleRate);

    public static long Samples(double seconds) => (long)Math.Round(seconds * SampleRate);

    /// <summary>The first frame at or after sample <paramref name="sample"/> (frame f shows time f / 25 s).</summary>
    public static long FrameAtOrAfter(long sample) => (sample + SamplesPerFrame - 1) / SamplesPerFrame;
}
