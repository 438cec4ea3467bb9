namespace EdgeAvsr.Runtime.Audio;

/// <summary>
/// Llama-AVSR's waveform normalisation: <c>F.layer_norm(x, x.shape)</c> over the whole utterance, i.e. zero mean
/// and unit (biased) variance with eps 1e-8 inside the square root. Sums are taken in fp64.
/// </summary>
public static class WaveformNormalization
{
    public const double Epsilon = 1e-8;

    public static float[] Normalize(ReadOnlySpan<float> samples)
    {
        var result = new float[samples.Length];
        if (samples.Length == 0)
        {
            return result;
        }
        double sum = 0;
        foreach (float v in samples)
        {
            sum += v;
        }
        double mean = sum / samples.Length;
        double sq = 0;
        foreach (float v in samples)
        {
            double d = v - mean;
            sq += d * d;
        }
        double inv = 1.0 / Math.Sqrt(sq / samples.Length + Epsilon);
        for (int i = 0; i < samples.Length; i++)
        {
            result[i] = (float)((samples[i] - mean) * inv);
        }
        return result;
    }
}
