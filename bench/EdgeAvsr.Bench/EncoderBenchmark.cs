using EdgeAvsr.Cli;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Encoders;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Onnx;
using EdgeAvsr.Runtime.Projector.Kernels;

namespace EdgeAvsr.Bench;

/// <summary>
/// <c>edgeavsr-bench encoders</c>: the real-size encoders (Whisper-medium 1024 x 24 on a 30 s log-mel; AV-HuBERT
/// Large 1024 x 24 on T mouth crops) on ONNX Runtime's CPU provider against the same PyTorch modules (Debian torch,
/// OpenBLAS) on the same input and the same seeded weights, in one run, with the same thread count. Reports the
/// median times, their ratio, the work in GFLOP and the agreement of the two outputs.
/// </summary>
internal static class EncoderBenchmark
{
    private const string Script = "Models/encoders/export_encoder.py";

    public static Command CreateCommand()
    {
        var which = new Option<string>("--encoders") { Description = "Comma-separated: whisper, avhubert", DefaultValueFactory = _ => "whisper,avhubert" };
        var frames = new Option<int>("--frames") { Description = "Video frames (25 fps) for AV-HuBERT", DefaultValueFactory = _ => 125 };
        var reps = new Option<int>("--reps") { Description = "Timed repetitions (median reported)", DefaultValueFactory = _ => 3 };
        var threads = new Option<int>("--threads") { Description = "Threads for both ORT (intra-op) and PyTorch (default: one per " +
            "core)", DefaultValueFactory = _ => 0 };
        var work = new Option<string?>("--work") { Description = "Folder for the exported real-size .onnx files (kept for reuse; default: " +
            "$TMPDIR/edgeavsr-bench-encoders)" };
        var noTorch = new Option<bool>("--no-torch") { Description = "Skip the PyTorch peer" };
        var tiny = new Option<bool>("--tiny") { Description = "Use the tiny test encoders (checks the harness in seconds; not a benchmark)" };
        var int8 = new Option<bool>("--int8")
        {
            Description = "Also quantize each encoder (edgeavsr-quantize encoder, cached in --work) and time fp32 against INT8 on ORT in the same run",
        };
        var calibration = new Option<string?>("--calibration") { Description = "Media folder for --int8 (default: Models/demo/samples)" };
        var weightBits = new Option<int>("--weight-bits") { Description = "INT8 weights: 8 or 7 bits", DefaultValueFactory = _ => 8 };
        var attention = new Option<bool>("--quantize-attention") { Description = "INT8 also for the attention MatMuls (two activations)" };
        var conv = new Option<bool>("--conv") { Description = "INT8 also for the convolutions (default: MatMul and Gemm only)" };
        var command = new Command("encoders", "Benchmark the real-size encoders on ORT CPU against PyTorch CPU on the same input");
        foreach (var o in new Option[] { which, frames, reps, threads, work, noTorch, tiny, int8, calibration, weightBits, attention, conv })
        {
            command.Options.Add(o);
        }
        command.SetAction(p => CliAction.Run(() => Run(
            p.GetValue(which)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
            p.GetValue(frames), p.GetValue(reps), p.GetValue(threads), p.GetValue(work), p.GetValue(noTorch), p.GetValue(tiny),
            p.GetValue(int8) ? new Int8Case(p.GetValue(calibration), p.GetValue(weightBits), p.GetValue(attention), p.GetValue(conv)) : null)));
        return command;
    }

    private static int Run(string[] which, int frames, int reps, int threads, string? work, bool noTorch, bool tiny, Int8Case? int8)
    {
        int n = ThreadCount.Resolve(threads);
        string script = BenchStats.FindAbove(Script) ?? throw new EdgeAvsrException($"{Script} not found above {AppContext.BaseDirectory}; run from the " +
            "repository build");
        string dir = work ?? Path.Combine(Path.GetTempPath(), "edgeavsr-bench-encoders");
        Directory.CreateDirectory(dir);
        Console.WriteLine($"machine: {KernelRegistry.DescribeCpu()}; threads for both engines: {n}; median of {reps}");
        foreach (string arch in which)
        {
            // Sizes as Models/encoders/encoders.py SIZES; width, pos-conv kernel and groups are AV-HuBERT's.
            var (size, dim, layers, ffn, width, posKernel, posGroups) = (arch, tiny) switch
            {
                ("whisper", false) => ("medium", 1024, 24, 4096, 0, 0, 1),
                ("avhubert", false) => ("large", 1024, 24, 4096, 64, 128, 16),
                ("whisper", true) => ("tiny", 64, 2, 256, 0, 0, 1),
                ("avhubert", true) => ("tiny", 64, 2, 128, 8, 16, 4),
                _ => throw new EdgeAvsrException($"--encoders '{arch}': whisper or avhubert"),
            };
            string onnx = Path.Combine(dir, $"{arch}-{size}-seed0.onnx");
            if (!File.Exists(onnx))
            {
                long t0 = Stopwatch.GetTimestamp();
                string info = Python(script, "export", "--arch", arch, "--size", size, "--seed", "0", "--out", onnx);
                Console.WriteLine(Inv($"{arch}: exported {onnx} in {Stopwatch.GetElapsedTime(t0).TotalSeconds:F0} s: {info.Trim()}"));
            }
            string input = Path.Combine(dir, $"{arch}-input-{(arch == "whisper" ? 3000 : frames)}.npy");
            var rng = new Random(42);
            float[] x;
            int tokens;
            double gflop;
            if (arch == "whisper")
            {
                x = Enumerable.Range(0, 80 * 3000).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
                NpyFile.Write(input, x, 80, 3000);
                tokens = 1500;
                // conv stem + per layer: q,k,v,o projections, QK^T and AV, two FFN matmuls (2 FLOP per MAC)
                gflop = 2.0 * (80.0 * 3 * dim * 3000 + (double)dim * 3 * dim * 1500
                    + layers * (4.0 * tokens * dim * dim + 2.0 * tokens * tokens * dim + 2.0 * tokens * dim * ffn)) / 1e9;
            }
            else
            {
                x = Enumerable.Range(0, frames * 88 * 88).Select(_ => (float)((rng.NextDouble() - 0.421) / 0.165)).ToArray();
                NpyFile.Write(input, x, frames, 88, 88);
                tokens = frames;
                // 3D stem (width x 5x7x7 at 44x44) + ResNet-18 trunk at 22x22 (counted per conv) + proj + transformer
                gflop = 2.0 * (frames * ((double)width * 5 * 7 * 7 * 44 * 44 + TrunkMacs(width) + 8.0 * width * dim) + 2.0 * dim * dim * frames
                    + (double)posKernel / posGroups * dim * dim * frames
                    + layers * (4.0 * tokens * dim * dim + 2.0 * tokens * tokens * dim + 2.0 * tokens * dim * ffn)) / 1e9;
            }

            using var encoder = EncoderSession.Open(onnx, new OnnxSessionOptions { IntraOpThreads = n, InterOpThreads = 1 });
            FloatMatrix? ortOut = null;
            double ortMs = Time(() => ortOut = arch == "whisper" ? encoder.EncodeAudio(x, null) : encoder.EncodeVideo(x, frames), reps);
            string ort = OnnxRuntimeEnvironment.Initialize().Version;
            Console.WriteLine(Inv($"{arch} ({size}, {dim} x {layers}, {tokens} output states, {gflop:0.###} GFLOP): ORT {ort} CPU {ortMs:F0} ms = ") +
                Inv($"{gflop / ortMs * 1e3:F1} GFLOP/s"));
            if (int8 is not null)
            {
                Int8EncoderBenchmark.Run(arch, onnx, x, frames, n, reps, ortMs, ortOut!, gflop, int8);
            }
            if (noTorch)
            {
                continue;
            }
            string torchOut = Path.Combine(dir, $"{arch}-torch-out.npy");
            string json = Python(script, "bench", "--arch", arch, "--size", size, "--seed", "0", "--input", input, "--output", torchOut,
                "--threads", n.ToString(CultureInfo.InvariantCulture), "--reps", reps.ToString(CultureInfo.InvariantCulture));
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            double torchMs = root.GetProperty("ms").GetDouble();
            var reference = NpyFile.ReadFloat32(torchOut);
            double maxDiff = 0, maxRef = 0;
            for (int i = 0; i < reference.Data.Length; i++)
            {
                maxDiff = Math.Max(maxDiff, Math.Abs((double)ortOut!.Data[i] - reference.Data[i]));
                maxRef = Math.Max(maxRef, Math.Abs((double)reference.Data[i]));
            }
            Console.WriteLine(Inv($"{arch}: PyTorch {root.GetProperty("torch").GetString()} ({root.GetProperty("blas").GetString()}, ") +
                Inv($"{root.GetProperty("threads").GetInt32()} threads) {torchMs:F0} ms = {gflop / torchMs * 1e3:F1} GFLOP/s; ORT is {torchMs / ortMs:F2}x ") +
                Inv($"PyTorch's speed; outputs agree to {maxDiff / maxRef:E1} (max abs diff / max abs)"));
        }
        return ExitCodes.Success;
    }

    // ResNet-18 trunk MACs per frame from a 22x22, width-channel input (BasicBlocks, 1x1 downsamples).
    private static double TrunkMacs(int width)
    {
        double macs = 0;
        int size = 22, inC = width;
        foreach (var (c, stride) in new[] { (width, 1), (width * 2, 2), (width * 4, 2), (width * 8, 2) })
        {
            int outSize = (size + stride - 1) / stride;
            macs += 9.0 * inC * c * outSize * outSize + 9.0 * c * c * outSize * outSize; // block 1
            if (stride != 1 || inC != c)
            {
                macs += (double)inC * c * outSize * outSize;
            }
            macs += 2 * 9.0 * c * c * outSize * outSize; // block 2
            inC = c;
            size = outSize;
        }
        return macs;
    }

    private static double Time(Action action, int reps)
    {
        action();
        var times = new double[Math.Max(1, reps)];
        for (int i = 0; i < times.Length; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            action();
            times[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }
        Array.Sort(times);
        return times[times.Length / 2];
    }

    private static string Python(string script, params string[] args)
    {
        var (code, stdout, stderr) = BenchStats.Exec("/usr/bin/python3", [script, .. args]);
        if (code != 0)
        {
            throw new EdgeAvsrException($"{script} {string.Join(" ", args)} failed: {stderr.Trim().ReplaceLineEndings(" ")}");
        }
        return stdout.Trim().Split('\n')[^1];
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
