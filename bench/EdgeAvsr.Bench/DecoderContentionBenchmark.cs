using EdgeAvsr.Cli;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Decoding;

namespace EdgeAvsr.Bench;

/// <summary>
/// <c>edgeavsr-bench decoder-contention</c>: greedy generation on an idle machine and with one core held by another
/// process (a shell busy loop), for three thread policies in the same run: fixed at N threads (llama.cpp's behaviour),
/// fixed at one thread, and adaptive with at most N (the default). Within a condition the policies alternate per round, so
/// load changes hit all of them; each policy keeps one decoder for the whole run, as a kiosk does.
/// </summary>
internal static class DecoderContentionBenchmark
{
    private sealed record Policy(string Name, LlamaDecoder Decoder);

    public static Command CreateCommand()
    {
        var models = new Option<string[]>("--model") { Description = "GGUF model(s) to measure (repeat the option)", Required = true,
            AllowMultipleArgumentsPerToken = true };
        var prefill = new Option<int>("--prefill") { Description = "Embedding rows in the prompt", DefaultValueFactory = _ => 100 };
        var tokens = new Option<int>("--tokens") { Description = "Tokens generated per run (EOS ignored)", DefaultValueFactory = _ => 64 };
        var reps = new Option<int>("--reps") { Description = "Rounds per condition (median reported)", DefaultValueFactory = _ => 5 };
        var threads = new Option<int>("--threads") { Description = "N: the fixed and the adaptive policy's thread count (default: the cores)",
            DefaultValueFactory = _ => 0 };
        var command = new Command("decoder-contention", "Benchmark the decoder's thread policies on an idle machine and with one core busy");
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
        if (cores < 2)
        {
            throw new EdgeAvsrException("decoder-contention needs at least 2 threads: with one there is no policy to choose");
        }
        var engine = LlamaEngine.Initialize();
        var details = engine.Details.Where(d => d.StartsWith("ggml CPU", StringComparison.Ordinal) || d.StartsWith("system info", StringComparison.Ordinal));
        Console.WriteLine($"llama.cpp {engine.Version}; {string.Join("; ", details)}");
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores; N = {cores} threads; load average {BenchStats.LoadAverage()}");
        Console.WriteLine(Inv($"work per run: prefill {prefill} embedding rows, then {tokens} greedy tokens; {reps} rounds per condition; ") +
            "the machine's limit here is its core count: one busy core leaves N - 1 free");
        foreach (string modelPath in models)
        {
            using var model = DecoderModel.Load(modelPath, LlamaBackendKind.Cpu);
            Console.WriteLine($"--- {Path.GetFileName(modelPath)}: {model.Description}, {model.SizeBytes / 1e6:F0} MB of weights, n_embd {model.InputWidth}");
            var rows = new FloatMatrix(prefill, model.InputWidth);
            var rng = new Random(5);
            for (int i = 0; i < rows.Data.Length; i++)
            {
                rows.Data[i] = (float)((rng.NextDouble() * 2 - 1) * 0.05);
            }
            var prompt = new DecoderPrompt([PromptSegment.FromEmbeddings(rows)]);
            var generation = new GenerationOptions { MaxNewTokens = tokens, StopAtEndOfGeneration = false };
            using var fixedN = new LlamaDecoder(model, new DecoderOptions { Threads = cores, ThreadPolicy = DecoderThreadPolicy.Fixed });
            using var fixed1 = new LlamaDecoder(model, new DecoderOptions { Threads = 1, ThreadPolicy = DecoderThreadPolicy.Fixed });
            using var adaptive = new LlamaDecoder(model, new DecoderOptions { Threads = cores });
            Policy[] policies = [new($"fixed {cores}", fixedN), new("fixed 1", fixed1), new($"adaptive <= {cores}", adaptive)];
            int[]? expected = null;
            foreach (var p in policies)
            {
                // The same token count either way; llama.cpp's sums may split differently with the thread count, so a near
                // tie between two logits can go the other way: say where, as the work per token is still the same.
                var warm = p.Decoder.Generate(prompt, generation);
                expected ??= warm.Tokens;
                int same = 0;
                while (same < expected.Length && same < warm.Tokens.Length && expected[same] == warm.Tokens[same])
                {
                    same++;
                }
                if (same < expected.Length)
                {
                    Console.WriteLine($"  note: {p.Name} generated the tokens of {policies[0].Name} up to token {same} of {expected.Length}, then others");
                }
            }
            var idle = Measure(policies, prompt, generation, reps);
            Console.WriteLine($"  idle: load average {BenchStats.LoadAverage()}");
            Dictionary<string, (double Prefill, double Gen)> busy;
            using (var spinner = BusyCore.Start())
            {
                Thread.Sleep(200);
                busy = Measure(policies, prompt, generation, reps);
                Console.WriteLine($"  one core busy ({spinner.Description}): load average {BenchStats.LoadAverage()}");
            }
            Console.WriteLine("  policy               idle tok/s   busy tok/s   busy/idle-1-thread   idle/idle-fixed-N   prefill idle/busy ms");
            double idleOne = tokens / (idle["fixed 1"].Gen / 1e3);
            double idleFixed = tokens / (idle[policies[0].Name].Gen / 1e3);
            foreach (var p in policies)
            {
                double i = tokens / (idle[p.Name].Gen / 1e3), b = tokens / (busy[p.Name].Gen / 1e3);
                Console.WriteLine(Inv($"  {p.Name,-18} {i,12:F1} {b,12:F1} {b / idleOne,20:F3} {i / idleFixed,19:F3}") +
                    Inv($"   {idle[p.Name].Prefill:F1} / {busy[p.Name].Prefill:F1}"));
            }
            var chooser = adaptive.ThreadChooser!;
            Console.WriteLine($"  adaptive chooser: {chooser.Tries} tries, {chooser.Wins} won, {chooser.Best} thread(s) at the end");
            Console.WriteLine("  targets (issue 20): busy adaptive >= 0.8x one idle thread; idle adaptive no slower than fixed N");
        }
        return ExitCodes.Success;
    }

    /// <summary>Median prefill and generation ms per policy over <paramref name="reps"/> alternating rounds.</summary>
    private static Dictionary<string, (double Prefill, double Gen)> Measure(Policy[] policies, DecoderPrompt prompt, GenerationOptions generation, int reps)
    {
        var runs = policies.ToDictionary(p => p.Name, _ => new List<(double Prefill, double Gen)>());
        for (int r = 0; r < reps; r++)
        {
            foreach (var p in policies)
            {
                var t = p.Decoder.Generate(prompt, generation).Timings;
                runs[p.Name].Add((t.Prefill.TotalMilliseconds, t.Generation.TotalMilliseconds));
            }
        }
        return runs.ToDictionary(kv => kv.Key, kv => (BenchStats.Median(kv.Value.Select(x => x.Prefill)), BenchStats.Median(kv.Value.Select(x => x.Gen))));
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>Another process holding one core: a shell busy loop, killed when disposed.</summary>
    private sealed class BusyCore : IDisposable
    {
        private readonly Process _process;

        private BusyCore(Process process) => _process = process;

        public string Description => $"pid {_process.Id}: sh -c 'while :; do :; done'";

        public static BusyCore Start()
        {
            var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardInput = true, UseShellExecute = false };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add("while :; do :; done");
            var p = Process.Start(psi) ?? throw new EdgeAvsrException("could not start /bin/sh for the busy core");
            p.StandardInput.Close();
            return new BusyCore(p);
        }

        public void Dispose()
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
            _process.Dispose();
        }
    }
}
