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

    /// <summary>
    /// The plain average of each frame of <paramref name="interleaved"/> float samples (a double sum, so every path
    /// that mixes decoded audio down gives the same samples; ffmpeg's own -ac 1 would apply its downmix gains).
    /// </summary>
    public static float[] AverageChannels(ReadOnlySpan<float> interleaved, int channels)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        var mono = new float[interleaved.Length / channels];
        for (int i = 0; i < mono.Length; i++)
        {
            double sum = 0;
            for (int c = 0; c < channels; c++)
            {
                sum += interleaved[i * channels + c];
            }
            mono[i] = (float)(sum / channels);
        }
        return mono;
    }

    /// <summary>
    /// Throws <see cref="EdgeAvsrException"/> naming <paramref name="source"/> and the sample if any is NaN or infinite
    /// (float files can hold them; every feature computed from one would be NaN). <paramref name="firstSample"/> is
    /// the index of <paramref name="samples"/>[0] in the whole stream, at <paramref name="sampleRate"/>.
    /// </summary>
    public static void RequireFinite(string source, ReadOnlySpan<float> samples, long firstSample, int sampleRate)
    {
        for (int i = 0; i < samples.Length; i++)
        {
            if (!float.IsFinite(samples[i]))
            {
                long index = firstSample + i;
                throw new EdgeAvsrException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"{source}: sample {index} ({(double)index / sampleRate:0.####} s) is {samples[i]}; audio samples must be finite"));
            }
        }
    }
}
