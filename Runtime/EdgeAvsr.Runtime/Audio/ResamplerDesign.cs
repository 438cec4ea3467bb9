using System.Numerics;

namespace EdgeAvsr.Runtime.Audio;

/// <summary>Design of a <see cref="Resampler"/>'s Kaiser-windowed sinc filter.</summary>
public sealed record ResamplerDesign
{
    /// <summary>Zero crossings of the sinc on each side of the centre (the filter's half-length, in units of the lower rate).</summary>
    public int ZeroCrossings { get; init; } = 48;

    /// <summary>Cutoff as a fraction of the lower rate's Nyquist frequency.</summary>
    public double Rolloff { get; init; } = 0.94;

    /// <summary>Kaiser window shape: 9.0 gives about 90 dB of stopband attenuation.</summary>
    public double Beta { get; init; } = 9.0;

    /// <summary>
    /// The default: with 48 zero crossings the transition band is about 0.06 x the lower rate wide and ends
    /// just below the lower rate's Nyquist (0.498 x rate), so nothing aliases or images above it; at 16 kHz the
    /// passband is flat to about 7.0 kHz.
    /// </summary>
    public static ResamplerDesign Default { get; } = new();
}
