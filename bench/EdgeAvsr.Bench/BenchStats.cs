using System.Diagnostics;
using EdgeAvsr.Runtime;

namespace EdgeAvsr.Bench;

/// <summary>
/// What every benchmark shares: the machine's load, timing and order statistics of repeated runs, and the
/// repository files and peer processes the benchmarks compare against.
/// </summary>
internal static class BenchStats
{
    /// <summary>The 1-, 5- and 15-minute load averages (Linux), "?" elsewhere: figures taken on a busy machine say so.</summary>
    public static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "?";
        }
        catch (UnauthorizedAccessException)
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

    /// <summary>Runs <paramref name="action"/> once; its wall time in milliseconds.</summary>
    public static double Timed(Action action)
    {
        long t0 = Stopwatch.GetTimestamp();
        action();
        return Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
    }

    /// <summary>
    /// Two warm-up calls, then <paramref name="reps"/> timed ones (at least one): the middle sample (the median for
    /// odd counts) and the best, in milliseconds.
    /// </summary>
    public static (double Median, double Best) Time(Action action, int reps)
    {
        action();
        action();
        var times = new double[Math.Max(1, reps)];
        for (int i = 0; i < times.Length; i++)
        {
            times[i] = Timed(action);
        }
        Array.Sort(times);
        return (times[times.Length / 2], times[0]);
    }

    /// <summary>
    /// The first <paramref name="relativePath"/> found in the build output folder or any folder above it (the
    /// repository's scripts and sources, when run from its build); null when there is none.
    /// </summary>
    public static string? FindAbove(string relativePath)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, relativePath);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    /// <summary>Runs <paramref name="file"/> to its end; its exit code and both output streams (read together, so neither pipe fills up).</summary>
    public static (int Code, string Stdout, string Stderr) Exec(string file, IEnumerable<string> args)
    {
        // An empty stdin: a child never reads whatever the bench's descriptor 0 happens to be.
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi) ?? throw new EdgeAvsrException($"cannot start {file}");
        p.StandardInput.Close();
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout, stderr.Result);
    }
}
