using EdgeAvsr.Cli;
using System.CommandLine;
using System.Diagnostics;
using EdgeAvsr.Quantize.Conversion;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Formats.Gguf;
using EdgeAvsr.Runtime.Interop;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Pack;
using EdgeAvsr.Synthetic;

namespace EdgeAvsr.Bench;

/// <summary>
/// <c>edgeavsr-bench quantize</c>: our GGUF quantizer against libllama's llama_model_quantize on the same F32 GGUF of a
/// Llama-3.2-1B-shaped model with seeded random weights, runs interleaved, outputs compared byte for byte.
/// </summary>
internal static class QuantizeBenchmark
{
    public static Command CreateCommand()
    {
        var work = new Option<string>("--work-dir")
        {
            Description = "Folder for the generated model and outputs (needs ~8 GB for the 16-layer model)",
            DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "edgeavsr-quantize-bench"),
        };
        var types = new Option<string>("--types") { Description = "Comma-separated file types", DefaultValueFactory = _ => "q8_0,q4_k_m" };
        var threads = new Option<int>("--threads") { Description = "Threads for both quantizers", DefaultValueFactory = _ => Environment.ProcessorCount };
        var reps = new Option<int>("--reps") { Description = "Interleaved repetitions (best time reported)", DefaultValueFactory = _ => 2 };
        var layers = new Option<int>("--layers") { Description = "Layers of the Llama-3.2-1B-shaped model (16 = the real " +
            "depth)", DefaultValueFactory = _ => 16 };
        var keep = new Option<bool>("--keep") { Description = "Keep the generated F32 GGUF and the outputs" };
        var command = new Command(
            "quantize",
            "Quantize a Llama-3.2-1B-shaped model (seeded random weights) with EdgeAvsr and with llama_model_quantize; compare time and bytes");
        foreach (var o in new Option[] { work, types, threads, reps, layers, keep })
        {
            command.Options.Add(o);
        }
        command.SetAction(p => CliAction.Run(() =>
        {
            var list = p.GetValue(types)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(t => LlamaFileTypes.Parse(t, "--types")).ToList();
            if (p.GetValue(threads) < 1 || p.GetValue(reps) < 1 || p.GetValue(layers) is < 1 or > 512)
            {
                throw new EdgeAvsrException("--threads and --reps must be >= 1, --layers 1..512");
            }
            return Run(p.GetValue(work)!, list, p.GetValue(threads), p.GetValue(reps), p.GetValue(keep), p.GetValue(layers));
        }));
        return command;
    }

    public static int Run(string workDir, IReadOnlyList<LlamaFileType> types, int threads, int reps, bool keep, int layers)
    {
        Directory.CreateDirectory(workDir);
        var spec = TinyLlamaGenerator.Llama32OneB(seed: 2026) with { Layers = layers };
        string hf = Path.Combine(workDir, $"llama32-1b-shaped-L{layers}");
        string f32 = Path.Combine(workDir, $"llama32-1b-shaped-L{layers}-f32.gguf");
        var clock = Stopwatch.StartNew();
        if (!File.Exists(Path.Combine(hf, "model.safetensors")))
        {
            Console.WriteLine($"generating {hf} (seeded random weights, bf16) ...");
            TinyLlamaGenerator.WriteModel(hf, spec);
            Console.WriteLine($"  {clock.Elapsed.TotalSeconds:F1} s");
        }
        clock.Restart();
        LlamaGgufConverter.Convert(new LlamaConversionRequest(hf, f32, LlamaFileType.F32) { Threads = threads });
        double convertSeconds = clock.Elapsed.TotalSeconds;
        long inputBytes = new FileInfo(f32).Length;
        long weights, largest;
        using (var f = GgufFile.Open(f32))
        {
            weights = f.Tensors.Sum(t => t.ElementCount);
            largest = f.Tensors.Max(t => t.ByteSize);
        }
        long peak = Process.GetCurrentProcess().PeakWorkingSet64;
        Console.WriteLine($"HF (bf16) -> F32 GGUF: {convertSeconds:F1} s, {LlamaGgufConverter.FormatBytes(inputBytes)}, {weights / 1e9:F3} G weights; peak " +
            $"RSS so far {LlamaGgufConverter.FormatBytes(peak)} (largest tensor {LlamaGgufConverter.FormatBytes(largest)} as f32)");
        Console.WriteLine($"machine: {Environment.ProcessorCount} logical cores available, threads {threads}; llama.cpp " +
            $"{NativeEngines.InitializeLlama().Version}");
        Console.WriteLine();
        const string header = "| type | EdgeAvsr s (best of {0}) | llama_model_quantize s (best of {0}) | ratio llama/ours | M weights/s ours | output | "
            + "identical |";
        Console.WriteLine(header.Replace("{0}", reps.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
        Console.WriteLine("|---|---|---|---|---|---|---|");
        bool allIdentical = true;
        foreach (var type in types)
        {
            string ours = Path.Combine(workDir, $"ours-{type}.gguf");
            string theirs = Path.Combine(workDir, $"llama-{type}.gguf");
            double bestOurs = double.MaxValue, bestTheirs = double.MaxValue;
            for (int r = 0; r < reps; r++)
            {
                clock.Restart();
                GgufRequantizer.Quantize(f32, ours, type, threads);
                bestOurs = Math.Min(bestOurs, clock.Elapsed.TotalSeconds);
                clock.Restart();
                LlamaModelQuantizer.Quantize(f32, theirs, (int)type, threads);
                bestTheirs = Math.Min(bestTheirs, clock.Elapsed.TotalSeconds);
            }
            bool identical = ModelPack.Sha256(ours) == ModelPack.Sha256(theirs);
            allIdentical &= identical;
            Console.WriteLine($"| {type.ToString().ToLowerInvariant()} | {bestOurs:F2} | {bestTheirs:F2} | {bestTheirs / bestOurs:F2} | " +
                $"{weights / bestOurs / 1e6:F0} | {LlamaGgufConverter.FormatBytes(new FileInfo(ours).Length)} | {(identical ? "yes (SHA-256)" : "NO")} |");
            if (!keep)
            {
                File.Delete(ours);
                File.Delete(theirs);
            }
        }
        if (!keep)
        {
            File.Delete(f32);
        }
        return allIdentical ? ExitCodes.Success : ExitCodes.Failure;
    }
}
