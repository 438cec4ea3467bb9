using EdgeAvsr.Cli;
using System.CommandLine;
using System.Globalization;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Interop;

namespace EdgeAvsr.Bench;

/// <summary>
/// <c>edgeavsr-bench decoder</c>: EdgeAvsr's decoder against llama.cpp alone (tools/llama-driver/driver.c, built
/// here with gcc against the same libllama) doing the same work: a prefill of N embedding rows, then greedy
/// decoding of a fixed token count, same context settings and threads. Runs alternate (driver, ours, driver,
/// ours, …) so both see the same machine load; medians and the ratio are printed.
/// </summary>
internal static class DecoderBenchmark
{
    public static Command CreateCommand()
    {
        var models = new Option<string[]>("--model") { Description = "GGUF model(s) to measure (repeat the " +
            "option)", Required = true, AllowMultipleArgumentsPerToken = true };
        var prefill = new Option<int>("--prefill") { Description = "Embedding rows in the prompt", DefaultValueFactory = _ => 250 };
        var tokens = new Option<int>("--tokens") { Description = "Tokens generated per run (EOS ignored)", DefaultValueFactory = _ => 32 };
        var reps = new Option<int>("--reps") { Description = "Alternating rounds (median reported)", DefaultValueFactory = _ => 5 };
        var threads = new Option<int>("--threads") { Description = "Threads for both (default: the cores available)", DefaultValueFactory = _ => 0 };
        var command = new Command("decoder", "Benchmark the llama.cpp decoder binding against a C driver on the same libllama");
        foreach (var o in new Option[] { models, prefill, tokens, reps, threads })
        {
            command.Options.Add(o);
        }
        command.SetAction(p => CliAction.Run(() => Run(p.GetValue(models)!, p.GetValue(prefill), p.GetValue(tokens), p.GetValue(reps), p.GetValue(threads))));
        return command;
    }

    private static int Run(string[] models, int prefill, int tokens, int reps, int threads)
    {
        int cores = ThreadCount.Resolve(threads);
        var engine = LlamaEngine.Initialize();
        string libllama = engine.Files.FirstOrDefault(f => Path.GetFileName(f) == "libllama.so")
            ?? throw new EdgeAvsrException($"bench decoder: no libllama.so among the loaded files ({string.Join(", ", engine.Files)})");
        string libDir = Path.GetDirectoryName(libllama)!;
        string dir = Path.Combine(Path.GetTempPath(), $"edgeavsr-bench-decoder-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            string driver = BuildDriver(libDir, dir);
            Console.WriteLine($"llama.cpp {engine.Version}; " +
                string.Join("; ", engine.Details.Where(d =>
                    d.StartsWith("LLamaSharp", StringComparison.Ordinal) || d.StartsWith("ggml CPU", StringComparison.Ordinal))));
            Console.WriteLine($"machine: {Environment.ProcessorCount} cores ({System.Runtime.InteropServices.RuntimeInformation.OSDescription}); threads " +
                $"{cores}; load average {BenchStats.LoadAverage()}");
            Console.WriteLine(Inv($"work per run: prefill {prefill} embedding rows, then {tokens} greedy tokens ({tokens - 1} single-token decodes); {reps} ") +
                Inv($"alternating rounds"));
            foreach (string modelPath in models)
            {
                using var model = DecoderModel.Load(modelPath, LlamaBackendKind.Cpu);
                Console.WriteLine($"--- {Path.GetFileName(modelPath)}: {model.Description}, {model.SizeBytes / 1e6:F0} MB of weights, n_embd " +
                    $"{model.InputWidth}, vocabulary {model.VocabularySize}; backend {model.Backend.Kind}");
                var rows = new FloatMatrix(prefill, model.InputWidth);
                var rng = new Random(5);
                for (int i = 0; i < rows.Data.Length; i++)
                {
                    rows.Data[i] = (float)((rng.NextDouble() * 2 - 1) * 0.05);
                }
                string embdPath = Path.Combine(dir, "rows.bin");
                File.WriteAllBytes(embdPath, System.Runtime.InteropServices.MemoryMarshal.AsBytes(rows.Data.AsSpan()).ToArray());
                var prompt = new DecoderPrompt([PromptSegment.FromEmbeddings(rows)]);
                var generation = new GenerationOptions { MaxNewTokens = tokens, StopAtEndOfGeneration = false };
                using var decoder = new LlamaDecoder(model, new DecoderOptions { Threads = cores, NativeTimings = true });
                // The same context size as the driver's, then a warm-up as the driver's (8 rows + 2 tokens) on it.
                decoder.Reserve(prefill + tokens + 1);
                var warmRows = new FloatMatrix(rows.Data.AsSpan(0, Math.Min(8, prefill) * model.InputWidth).ToArray(), Math.Min(8, prefill), model.InputWidth);
                decoder.Generate(new DecoderPrompt([PromptSegment.FromEmbeddings(warmRows)]), generation with { MaxNewTokens = Math.Min(2, tokens) });
                int cells = prefill + tokens + 1;
                var ours = new List<(double Prefill, double Gen)>();
                // Per generated token (single-token decodes): wall time, time inside the decode + logits calls, llama.cpp's own t_eval.
                var perToken = new List<(double Token, double Calls, double Native)>();
                var theirs = new List<(double Prefill, double Gen)>();
                int[]? ourTokens = null, driverTokens = null;
                for (int r = 0; r < reps; r++)
                {
                    var d = RunDriver(driver, modelPath, embdPath, prefill, tokens, cores, cells);
                    driverTokens ??= d.Ids;
                    theirs.Add((d.Prefill, d.Gen));
                    var result = decoder.Generate(prompt, generation);
                    ourTokens ??= result.Tokens;
                    var t = result.Timings;
                    ours.Add((t.Prefill.TotalMilliseconds, t.Generation.TotalMilliseconds));
                    int decodes = Math.Max(1, t.GenerationDecodeCalls);
                    perToken.Add((
                        t.Generation.TotalMilliseconds / decodes,
                        t.GenerationNativeCalls.TotalMilliseconds / decodes,
                        t.GenerationNativeEval.TotalMilliseconds / decodes));
                }
                double oPre = BenchStats.Median(ours.Select(x => x.Prefill)), oGen = BenchStats.Median(ours.Select(x => x.Gen));
                double tPre = BenchStats.Median(theirs.Select(x => x.Prefill)), tGen = BenchStats.Median(theirs.Select(x => x.Gen));
                double oTps = (tokens - 1) / (oGen / 1e3), tTps = (tokens - 1) / (tGen / 1e3);
                Console.WriteLine(Inv($"prefill {prefill} rows: EdgeAvsr {oPre:F1} ms ({prefill / (oPre / 1e3):F0} rows/s), llama.cpp driver {tPre:F1} ms ") +
                    Inv($"({prefill / (tPre / 1e3):F0} rows/s); ratio {tPre / oPre:F3}"));
                Console.WriteLine(Inv($"generation: EdgeAvsr {oTps:F2} tokens/s, llama.cpp driver {tTps:F2} tokens/s; ratio {oTps / tTps:F3} (binding ") +
                    Inv($"overhead {100 * (1 - oTps / tTps):F1}%, target <= 2%)"));
                Console.WriteLine(Inv($"  per round (ours/driver ms): prefill ") +
                    Inv($"{string.Join(", ", ours.Zip(theirs).Select(p => $"{p.First.Prefill:F0}/{p.Second.Prefill:F0}"))}; generation ") +
                    Inv($"{string.Join(", ", ours.Zip(theirs).Select(p => $"{p.First.Gen:F0}/{p.Second.Gen:F0}"))}"));
                double tokenMs = BenchStats.Median(perToken.Select(x => x.Token)), nativeMs = BenchStats.Median(perToken.Select(x => x.Native));
                double callsMs = BenchStats.Median(perToken.Select(x => x.Calls));
                var shares = perToken.Select(x => 100 * (x.Token - x.Native) / x.Token).ToList();
                double share = BenchStats.Median(shares);
                Console.WriteLine(Inv($"binding cost per generated token: {tokenMs:F3} ms per token, of which llama.cpp's own decode + logits time (t_eval) ") +
                    Inv($"{nativeMs:F3} ms; managed time outside it {tokenMs - nativeMs:F4} ms = {share:F2}% of the token time (median of rounds; target <= ") +
                    Inv($"2%)"));
                Console.WriteLine(Inv($"  outside split: LLamaSharp's call wrappers (batch pinning, lock, checks) {callsMs - nativeMs:F4} ms, EdgeAvsr's ") +
                    Inv($"loop (argmax, log-sum-exp, batch fill) {tokenMs - callsMs:F4} ms; per round share % ") +
                    Inv($"{string.Join(", ", shares.Select(x => x.ToString("F2", CultureInfo.InvariantCulture)))}"));
                bool same = ourTokens!.AsSpan().SequenceEqual(driverTokens);
                Console.WriteLine($"  same work: greedy tokens {(same ? "identical" : "DIFFERENT")} (ours {string.Join(' ', ourTokens!.Take(8))} ...; driver " +
                    $"{string.Join(' ', driverTokens!.Take(8))} ...)");
            }
            Console.WriteLine("note: wall-clock numbers on a shared machine are noisy; compare the ratio, not the absolute rates");
            return ExitCodes.Success;
        }
        finally
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static string BuildDriver(string libDir, string dir)
    {
        string source = BenchStats.FindAbove(Path.Combine("tools", "llama-driver", "driver.c"))
            ?? throw new EdgeAvsrException($"tools/llama-driver/driver.c not found above {AppContext.BaseDirectory} (run the benchmark from the repository " +
                "build)");
        string exe = Path.Combine(dir, "llama-driver");
        var (code, output) = Exec(
            "gcc", ["-O2", "-o", exe, source, $"-L{libDir}", "-l:libllama.so", "-l:libggml.so", "-l:libggml-base.so", $"-Wl,-rpath,{libDir}"]);
        if (code != 0)
        {
            throw new EdgeAvsrException($"gcc could not build {source}: {output.Trim()}");
        }
        Console.WriteLine($"driver: {source} built with gcc against {libDir} (the libllama this process loaded)");
        return exe;
    }

    private static (double Prefill, double Gen, int[] Ids) RunDriver(string exe, string model, string embd, int prefill, int tokens, int threads, int cells)
    {
        var (code, output) = Exec(exe, [model, embd, prefill.ToString(CultureInfo.InvariantCulture), tokens.ToString(CultureInfo.InvariantCulture),
            threads.ToString(CultureInfo.InvariantCulture), cells.ToString(CultureInfo.InvariantCulture), "1"]);
        if (code != 0)
        {
            throw new EdgeAvsrException($"llama driver failed ({code}): {output.Trim()}");
        }
        // The driver warms its context up first (prefill + 2 tokens, not printed), then measures one repetition.
        string last = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last(l => l.StartsWith("prefill_ms", StringComparison.Ordinal));
        var parts = last.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        int idsAt = Array.IndexOf(parts, "ids") + 1;
        int[] ids = parts[idsAt..].Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        return (double.Parse(parts[1], CultureInfo.InvariantCulture), double.Parse(parts[3], CultureInfo.InvariantCulture), ids);
    }

    /// <summary>Exit code and both streams, stdout first.</summary>
    private static (int Code, string Output) Exec(string file, string[] args)
    {
        var (code, stdout, stderr) = BenchStats.Exec(file, args);
        return (code, stdout + stderr);
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
