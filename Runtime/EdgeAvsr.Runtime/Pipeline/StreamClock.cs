using EdgeAvsr.Runtime.Video;

namespace EdgeAvsr.Runtime.Pipeline;

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
