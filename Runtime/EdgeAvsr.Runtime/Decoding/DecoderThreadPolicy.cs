namespace EdgeAvsr.Runtime.Decoding;

/// <summary>How many threads each single-token decode call gets.</summary>
public enum DecoderThreadPolicy
{
    /// <summary>Chosen per call from measured call times, at most <see cref="DecoderOptions.Threads"/> (<see cref="DecoderThreadChooser"/>).</summary>
    Adaptive,

    /// <summary>Always <see cref="DecoderOptions.Threads"/>, llama.cpp's own behaviour.</summary>
    Fixed,
}
