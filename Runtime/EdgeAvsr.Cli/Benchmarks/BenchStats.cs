namespace EdgeAvsr.Cli.Benchmarks;

/// <summary>What every benchmark reports besides its figures: the machine's load, and order statistics of repeated runs.</summary>
internal static class BenchStats
{
    /// <summary>The 1-minute load average (Linux), "?" elsewhere: figures taken on a busy machine say so.</summary>
    public static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "?";
        }
    }

    public static double Median(IEnumerable<double> values) => Percentile(values, 50);

    /// <summary>Linear interpolation between the closest ranks; NaN for no values.</summary>
    public static double Percentile(IEnumerable<double> values, double percent)
    {
        var v = values.Order().ToArray();
        if (v.Length == 0)
        {
            return double.NaN;
        }
        double rank = percent / 100 * (v.Length - 1);
        int lo = (int)Math.Floor(rank), hi = (int)Math.Ceiling(rank);
        return v[lo] + (v[hi] - v[lo]) * (rank - lo);
    }
}
