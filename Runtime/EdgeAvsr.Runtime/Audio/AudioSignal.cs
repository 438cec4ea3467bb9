namespace EdgeAvsr.Runtime.Audio;

/// <summary>Mono audio samples (nominally in [-1, 1]) at a sample rate, as read from a file.</summary>
public sealed class AudioSignal
{
    public AudioSignal(float[] samples, int sampleRate)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentOutOfRangeException.ThrowIfLessThan(sampleRate, 1);
        Samples = samples;
        SampleRate = sampleRate;
    }

    public float[] Samples { get; }

    public int SampleRate { get; }

    /// <summary>Length in seconds: samples / rate.</summary>
    public double DurationSeconds => (double)Samples.Length / SampleRate;
}
