namespace EdgeAvsr.Quantize.Onnx;

/// <summary>
/// The absolute values one activation took over the calibration set: the largest, and a histogram over [0, range]
/// whose range doubles (merging bin pairs) when a larger value comes, so no value is ever dropped.
/// </summary>
internal sealed class ActivationHistogram
{
    private const int Bins = 4096;
    private readonly long[] _counts = new long[Bins];
    private double _range;

    public double Max { get; private set; }

    public long Count { get; private set; }

    public void Add(ReadOnlySpan<float> values)
    {
        float max = 0;
        foreach (float v in values)
        {
            max = Math.Max(max, Math.Abs(v));
        }
        if (max > Max)
        {
            Max = max;
        }
        if (_range == 0)
        {
            _range = Max > 0 ? Max : 0;
        }
        while (_range > 0 && max > _range)
        {
            // Twice the range: bin 2i and 2i+1 become bin i.
            for (int i = 0; i < Bins / 2; i++)
            {
                _counts[i] = _counts[2 * i] + _counts[(2 * i) + 1];
            }
            Array.Clear(_counts, Bins / 2, Bins / 2);
            _range *= 2;
        }
        Count += values.Length;
        if (_range == 0)
        {
            _counts[0] += values.Length;
            return;
        }
        double perBin = Bins / _range;
        foreach (float v in values)
        {
            int bin = (int)(Math.Abs(v) * perBin);
            _counts[Math.Min(bin, Bins - 1)]++;
        }
    }

    /// <summary>The absolute value below which <paramref name="percent"/> % of the values lie (a bin's upper edge, at most <see cref="Max"/>).</summary>
    public double Percentile(double percent)
    {
        if (Count == 0 || _range == 0)
        {
            return Max;
        }
        long target = (long)Math.Ceiling(Count * percent / 100);
        long seen = 0;
        for (int i = 0; i < Bins; i++)
        {
            seen += _counts[i];
            if (seen >= target)
            {
                return Math.Min(Max, (i + 1) * _range / Bins);
            }
        }
        return Max;
    }
}
