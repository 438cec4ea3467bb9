using EdgeAvsr.Runtime.Decoding;

namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>Time spent per stage for one utterance (or summed over many).</summary>
public sealed record StageTimings(TimeSpan FrontEnd, TimeSpan Encoders, TimeSpan Projector, TimeSpan Prefill, TimeSpan Generation)
{
    public static readonly StageTimings Zero = new(TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);

    public TimeSpan Total => FrontEnd + Encoders + Projector + Prefill + Generation;

    public StageTimings Add(StageTimings other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new(FrontEnd + other.FrontEnd, Encoders + other.Encoders, Projector + other.Projector, Prefill + other.Prefill, Generation + other.Generation);
    }
}
