using System.Diagnostics;
using System.Globalization;
using EdgeAvsr.Quantize.Onnx;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Encoders;
using EdgeAvsr.Runtime.Onnx;

namespace EdgeAvsr.Bench;

/// <summary>
/// The INT8 half of <c>edgeavsr-bench encoders --int8</c>: the encoder quantized by the project's quantizer (calibrated
/// on media through the runtime's front-ends), then fp32 and INT8 timed on ORT's CPU provider on the same input with
/// the same threads, in the same run; the fp32 model is timed a second time with the INT8 session settings too, so the
/// ratio is against the faster fp32 of the two. Accuracy: relative L2 of the INT8 output against fp32 on the bench input
/// and (from the quantizer's report) on the calibration clips.
/// </summary>
internal static class Int8EncoderBenchmark
{
    public static void Run(string arch, string onnx, float[] x, int frames, int threads, int reps, double fp32Ms, FloatMatrix fp32Out, double gflop,
        Int8Case config)
    {
        string media = config.Calibration ?? (BenchStats.FindAbove(Path.Combine("Models", "demo", "README.md")) is { } readme
            ? Path.Combine(Path.GetDirectoryName(readme)!, "samples")
            : throw new EdgeAvsrException("Models/demo/samples not found above the build; pass --calibration"));
        string suffix = $"int{config.WeightBits}{(config.QuantizeAttention ? "-attn" : "")}{(config.Conv ? "-conv" : "")}";
        string quantized = Path.ChangeExtension(onnx, $".{suffix}.onnx");
        string reportPath = Path.ChangeExtension(onnx, $".{suffix}.report.json");
        if (!File.Exists(quantized))
        {
            long t0 = Stopwatch.GetTimestamp();
            var report = EncoderMediaQuantizer.Quantize(onnx, media, null, quantized, new EncoderQuantizeOptions
            {
                WeightBits = config.WeightBits,
                ActivationMatMuls = config.QuantizeAttention,
                Operators = config.Conv ? new HashSet<string> { "MatMul", "Gemm", "Conv" } : new HashSet<string> { "MatMul", "Gemm" },
                Threads = threads,
            });
            report.Write(reportPath);
            Console.WriteLine(Inv($"{arch}: quantized in {Stopwatch.GetElapsedTime(t0).TotalSeconds:F0} s -> {quantized}"));
            Console.Write(report.Describe());
        }
        else
        {
            Console.WriteLine($"{arch}: reusing {quantized} (report {reportPath})");
        }
        var defaults = new OnnxSessionOptions { IntraOpThreads = threads, InterOpThreads = 1 };
        var sameOptions = defaults with { ConfigEntries = Int8EncoderSessionConfig.Entries };
        long fileBytes = new FileInfo(quantized).Length;
        // All three sessions open at once and timed in turn, rep by rep, so a load that comes and goes on a shared machine
        // falls on all of them alike; each is warmed up once first.
        using var fp32Default = EncoderSession.Open(onnx, defaults);
        using var fp32Same = EncoderSession.Open(onnx, sameOptions);
        using var int8 = EncoderSession.Open(quantized, sameOptions);
        FloatMatrix? int8Out = null;
        var runs = new Action[] { () => Encode(fp32Default, arch, x, frames), () => Encode(fp32Same, arch, x, frames),
            () => int8Out = Encode(int8, arch, x, frames) };
        var times = runs.Select(_ => new double[Math.Max(1, reps)]).ToArray();
        foreach (var run in runs)
        {
            run();
        }
        for (int r = 0; r < times[0].Length; r++)
        {
            for (int i = 0; i < runs.Length; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                runs[i]();
                times[i][r] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            }
        }
        double Median(double[] t) => t.Order().ElementAt(t.Length / 2);
        fp32Ms = Median(times[0]);
        double fp32SameMs = Median(times[1]);
        double int8Ms = Median(times[2]);
        Console.WriteLine($"{arch}: per-rep ms (fp32 default / fp32 INT8 settings / INT8): " +
            string.Join("; ", Enumerable.Range(0, times[0].Length).Select(r => Inv($"{times[0][r]:F0} / {times[1][r]:F0} / {times[2][r]:F0}"))));
        // Accuracy on real media the quantizer did not see: the demo clips outside the calibration folder.
        string demo = BenchStats.FindAbove(Path.Combine("Models", "demo", "README.md")) is { } demoReadme
            ? Path.Combine(Path.GetDirectoryName(demoReadme)!, "samples")
            : media;
        var seen = Directory.GetFiles(media).Select(Path.GetFileName).ToHashSet();
        var heldOut = Directory.GetFiles(demo, "*.mp4").Where(f => !seen.Contains(Path.GetFileName(f))).Order(StringComparer.Ordinal).ToList();
        if (heldOut.Count > 0)
        {
            string folder = Path.Combine(Path.GetTempPath(), $"edgeavsr-bench-heldout-{Environment.ProcessId}");
            Directory.CreateDirectory(folder);
            try
            {
                foreach (string f in heldOut)
                {
                    File.Copy(f, Path.Combine(folder, Path.GetFileName(f)), overwrite: true);
                }
                var kind = arch == "whisper" ? EncoderKind.Audio : EncoderKind.Video;
                var (inputs, _) = Quantize.Pack.CalibrationMedia.EncoderInputs(folder, kind, false, fp32Same.AudioWindowFrames);
                double num = 0, den = 0;
                foreach (var t in inputs)
                {
                    float[] a = (kind == EncoderKind.Audio ? fp32Same.EncodeAudio(t.Floats, null) : fp32Same.EncodeVideo(t.Floats, (int)t.Shape[2])).Data;
                    float[] b = (kind == EncoderKind.Audio ? int8.EncodeAudio(t.Floats, null) : int8.EncodeVideo(t.Floats, (int)t.Shape[2])).Data;
                    for (int i = 0; i < a.Length; i++)
                    {
                        num += ((double)b[i] - a[i]) * (b[i] - a[i]);
                        den += (double)a[i] * a[i];
                    }
                }
                Console.WriteLine(Inv($"{arch}: output relative L2 INT8 vs fp32 on {heldOut.Count} held-out demo clip(s) ") +
                    Inv($"({string.Join(", ", heldOut.Select(Path.GetFileName))}): {Math.Sqrt(num / den):E2}"));
            }
            finally
            {
                Directory.Delete(folder, recursive: true);
            }
        }
        double baseline = Math.Min(fp32Ms, fp32SameMs);
        double error = RelativeL2.Of(fp32Out.Data, int8Out!.Data);
        Console.WriteLine(Inv($"{arch}: fp32 {fp32Ms:F0} ms (default settings, timed again beside INT8), {fp32SameMs:F0} ms (INT8 settings); ") +
            Inv($"INT8 ({suffix}, {fileBytes / 1e6:F0} MB) {int8Ms:F0} ms = {gflop / int8Ms * 1e3:F1} GOP/s; ") +
            Inv($"INT8 is {baseline / int8Ms:F2}x the faster fp32; ") +
            Inv($"output relative L2 vs fp32 on the (random) bench input {error:E2}"));
    }

    private static FloatMatrix Encode(EncoderSession s, string arch, float[] x, int frames) =>
        arch == "whisper" ? s.EncodeAudio(x, null) : s.EncodeVideo(x, frames);

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
