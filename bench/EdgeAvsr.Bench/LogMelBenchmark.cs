using EdgeAvsr.Cli;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Audio;
using EdgeAvsr.Runtime.Projector.Kernels;

namespace EdgeAvsr.Bench;

/// <summary>
/// <c>edgeavsr-bench logmel</c>: Whisper log-mel of 30 s of audio, ours against the PyTorch reference
/// (Models/reference/logmel_reference.py bench: torch.stft + mel matmul + log10, float32) in the same run, at
/// 1 thread and at N threads, median and best of the repetitions (the best is the less noisy on a shared machine);
/// also the resampler (30 s at 44.1 kHz to 16 kHz).
/// </summary>
internal static class LogMelBenchmark
{
    public static Command CreateCommand()
    {
        var reps = new Option<int>("--reps") { Description = "Timed repetitions (median reported)", DefaultValueFactory = _ => 30 };
        var threads = new Option<int>("--threads") { Description = "Threads for the multi-threaded row (default: one per core)", DefaultValueFactory = _ => 0 };
        var noTorch = new Option<bool>("--no-torch") { Description = "Skip the PyTorch peer" };
        var command = new Command("logmel", "Whisper log-mel of 30 s audio: ours vs the PyTorch reference (ratio), and the 44.1 kHz resampler");
        command.Options.Add(reps);
        command.Options.Add(threads);
        command.Options.Add(noTorch);
        command.SetAction(parse => CliAction.Run(() => Run(parse.GetValue(reps), parse.GetValue(threads), parse.GetValue(noTorch))));
        return command;
    }

    private static int Run(int reps, int threads, bool noTorch)
    {
        int all = ThreadCount.Resolve(threads);
        Console.WriteLine($"machine: {KernelRegistry.DescribeCpu()}; Vector<float> {System.Numerics.Vector<float>.Count} lanes");
        var rng = new Random(7);
        var audio = new float[WhisperLogMel.ChunkSamples];
        for (int i = 0; i < audio.Length; i++)
        {
            audio[i] = (float)(0.1 * (rng.NextDouble() + rng.NextDouble() + rng.NextDouble() - 1.5));
        }
        var one = new WhisperLogMel(1);
        var many = new WhisperLogMel(all);
        int nnz = one.Filters.NonZero;
        // Work: per frame one 400-point FFT per real frame counted as 2.5 N log2 N flops (a 400-point complex FFT
        // carries two frames), 400 window multiplies, 3 flops per bin for |X|^2, 2 per mel weight.
        double fftFlops = 2.5 * 400 * Math.Log2(400);
        double perFrame = fftFlops + 400 + 3 * 201;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"work: 30 s = 480000 samples, 3000 frames of 400 (hop 160); STFT " +
            $"~{perFrame * 3000 / 1e6:F1} MFLOP (FFT 2.5 N log2 N = {fftFlops:F0} per frame, window, |X|^2); mel sparse {nnz} weights = " +
            $"{2.0 * nnz * 3000 / 1e6:F1} MFLOP (a dense 80x201 matmul, as torch does it: {2.0 * 80 * 201 * 3000 / 1e6:F1} MFLOP); log10/clamp on 240000 " +
            $"values"));
        var oursOne = BenchStats.Time(() => one.Compute(audio), reps);
        var oursAll = BenchStats.Time(() => many.Compute(audio), reps);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ours  log-mel 30 s: 1 thread median {oursOne.Median:F2} ms (best {oursOne.Best:F2}); " +
            $"{all} threads median {oursAll.Median:F2} ms (best {oursAll.Best:F2}); {(perFrame * 3000 + 2.0 * nnz * 3000) / (oursOne.Best * 1e6):F2} nominal " +
            $"GFLOP/s at the 1-thread best"));
        if (!noTorch)
        {
            foreach (int t in new[] { 1, all }.Distinct())
            {
                var torch = Torch(t, reps);
                if (torch is { } r)
                {
                    var ours = t == 1 ? oursOne : oursAll;
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"torch log-mel 30 s: {t} thread{(t == 1 ? "" : "s")} median {r.Median:F2} " +
                        $"ms (best {r.Best:F2}) ({r.Info}); ours is {r.Median / ours.Median:F2}x faster (median), {r.Best / ours.Best:F2}x (best)"));
                }
            }
        }
        var x441 = new float[30 * 44100];
        for (int i = 0; i < x441.Length; i++)
        {
            x441[i] = (float)Math.Sin(i * 0.05);
        }
        var resampler = new Resampler(44100, 16000);
        var rs = BenchStats.Time(() => resampler.Process(x441), Math.Max(3, reps / 5));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ours  resample 30 s 44100 -> 16000 Hz: median {rs.Median:F1} ms (best {rs.Best:F1}) " +
            $"({resampler.MaxTaps} taps per output, {2.0 * resampler.MaxTaps * 480000 / 1e6:F0} MFLOP, {Environment.ProcessorCount} threads)"));
        return 0;
    }

    private static (double Median, double Best, string Info)? Torch(int threads, int reps)
    {
        string? script = BenchStats.FindAbove(Path.Combine("Models", "reference", "logmel_reference.py"));
        if (script is null || !File.Exists("/usr/bin/python3"))
        {
            Console.WriteLine("pytorch peer: Models/reference/logmel_reference.py or /usr/bin/python3 not found; skipped");
            return null;
        }
        var (code, stdout, stderr) = BenchStats.Exec(
            "/usr/bin/python3",
            [script, "bench", "--iterations", reps.ToString(CultureInfo.InvariantCulture), "--threads", threads.ToString(CultureInfo.InvariantCulture)]);
        if (code != 0)
        {
            Console.WriteLine($"pytorch peer failed: {stderr.Trim()}");
            return null;
        }
        using var doc = JsonDocument.Parse(stdout);
        var root = doc.RootElement;
        return (root.GetProperty("median_ms").GetDouble(), root.GetProperty("min_ms").GetDouble(), $"torch {root.GetProperty("torch").GetString()}, " +
            $"{root.GetProperty("threads").GetInt32()} torch threads");
    }
}
