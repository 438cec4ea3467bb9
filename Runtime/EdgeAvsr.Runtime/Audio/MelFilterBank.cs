namespace EdgeAvsr.Runtime.Audio;

/// <summary>
/// Triangular mel filters on the Slaney mel scale (linear below 1 kHz at 200/3 Hz per mel, logarithmic
/// above with 27 mels per factor 6.4) with Slaney area normalisation (each triangle scaled by
/// 2 / (its upper edge - its lower edge) in Hz), computed from that definition in fp64 as librosa's
/// <c>filters.mel(norm="slaney", htk=False)</c> defines it. Stored sparsely: each filter's first bin and weights.
/// </summary>
public sealed class MelFilterBank
{
    public MelFilterBank(int sampleRate, int nFft, int mels, double fMin, double fMax)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(mels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(nFft, 2);
        Bins = nFft / 2 + 1;
        Mels = mels;
        double minMel = HzToMel(fMin), maxMel = HzToMel(fMax);
        var edges = new double[mels + 2];
        for (int i = 0; i < edges.Length; i++)
        {
            edges[i] = MelToHz(minMel + (maxMel - minMel) * i / (mels + 1));
        }
        Dense = new double[mels, Bins];
        First = new int[mels];
        Weights = new float[mels][];
        for (int m = 0; m < mels; m++)
        {
            double lo = edges[m], centre = edges[m + 1], hi = edges[m + 2];
            double norm = 2.0 / (hi - lo);
            int first = -1, last = -1;
            for (int k = 0; k < Bins; k++)
            {
                double f = (double)k * sampleRate / nFft;
                double lower = (f - lo) / (centre - lo);
                double upper = (hi - f) / (hi - centre);
                double w = Math.Max(0, Math.Min(lower, upper)) * norm;
                Dense[m, k] = w;
                if (w > 0)
                {
                    if (first < 0)
                    {
                        first = k;
                    }
                    last = k;
                }
            }
            if (first < 0)
            {
                First[m] = 0;
                Weights[m] = [];
                continue;
            }
            First[m] = first;
            Weights[m] = new float[last - first + 1];
            for (int k = first; k <= last; k++)
            {
                Weights[m][k - first] = (float)Dense[m, k];
            }
        }
    }

    public int Bins { get; }

    public int Mels { get; }

    /// <summary>The filters as a dense [mels, bins] matrix (fp64).</summary>
    public double[,] Dense { get; }

    /// <summary>First non-zero bin of each filter.</summary>
    public int[] First { get; }

    /// <summary>Non-zero weights of each filter from <see cref="First"/> on.</summary>
    public float[][] Weights { get; }

    /// <summary>Non-zero weights in total (multiply-adds per frame).</summary>
    public int NonZero => Weights.Sum(w => w.Length);

    public static double HzToMel(double hz)
    {
        const double fSp = 200.0 / 3, minLogHz = 1000, minLogMel = minLogHz / fSp;
        double logStep = Math.Log(6.4) / 27;
        return hz >= minLogHz ? minLogMel + Math.Log(hz / minLogHz) / logStep : hz / fSp;
    }

    public static double MelToHz(double mel)
    {
        const double fSp = 200.0 / 3, minLogHz = 1000, minLogMel = minLogHz / fSp;
        double logStep = Math.Log(6.4) / 27;
        return mel >= minLogMel ? minLogHz * Math.Exp(logStep * (mel - minLogMel)) : fSp * mel;
    }
}
