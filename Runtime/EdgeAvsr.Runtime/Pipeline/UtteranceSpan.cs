using EdgeAvsr.Runtime.Audio.Vad;

namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>
/// A stretch of the stream to transcribe, in 16 kHz samples: final when it will not grow any more, partial while its speech
/// is still running. <see cref="DecidedAtSample"/> is the stream position when it was cut (a caption's latency counts from there).
/// </summary>
public readonly record struct UtteranceSpan(int Id, long StartSample, long EndSample, bool IsFinal, long DecidedAtSample)
{
    public double Start => StreamClock.Seconds(StartSample);

    public double End => StreamClock.Seconds(EndSample);

    public long Length => EndSample - StartSample;
}
