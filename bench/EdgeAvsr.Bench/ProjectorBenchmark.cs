using EdgeAvsr.Cli;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text.Json;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Projector;
using EdgeAvsr.Runtime.Projector.Kernels;

namespace EdgeAvsr.Bench;

/// <summary>
/// <c>edgeavsr-bench projector</c>: the SMoP projector at Llama-SMoP 1B shapes (D 1024, I 2048,
/// d_llm 2048, E 4, k 2), measured against its peers in one run: INT8 vs fp32, top-2 of 4 vs one dense
/// expert, INT8 vs the authors' PyTorch module, and achieved GOP/s vs this machine's measured peak.
/// </summary>
internal static class ProjectorBenchmark
{
    private const int Dim = 1024, Hidden = 2048, Output = 2048, Experts = 4, TopK = 2;

    public static Command CreateCommand()
    {
        var tokens = new Option<string>("--tokens") { Description = "Comma-separated token counts (after pooling)", DefaultValueFactory = _ => "250,750" };
        var reps = new Option<int>("--reps") { Description = "Timed repetitions per case (median reported)", DefaultValueFactory = _ => 15 };
        var threads = new Option<int>("--threads") { Description = "Projector threads (default: one per core)", DefaultValueFactory = _ => 0 };
        var noTorch = new Option<bool>("--no-torch") { Description = "Skip the PyTorch peer" };
        var rowBlock = new Option<int>("--row-block") { Description = "Tokens per work item (default: the projector's)", DefaultValueFactory = _ => 0 };
        var command = new Command("projector", "Benchmark the SMoP projector against fp32, a dense projector, PyTorch and the machine's peak");
        command.Options.Add(tokens);
        command.Options.Add(reps);
        command.Options.Add(threads);
        command.Options.Add(noTorch);
        command.Options.Add(rowBlock);
        command.SetAction(p => CliAction.Run(() => Run(
            p.GetValue(tokens)!.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(),
            p.GetValue(reps), p.GetValue(threads), p.GetValue(noTorch), p.GetValue(rowBlock))));
        return command;
    }

    private static int Run(int[] tokenCounts, int reps, int threads, bool noTorch, int rowBlock)
    {
        s_rowBlock = rowBlock;
        int cores = ThreadCount.Resolve(threads);
        Console.WriteLine($"machine: {KernelRegistry.DescribeCpu()}; load average at start: {BenchStats.LoadAverage()}");
        Console.WriteLine($"shapes: D {Dim}, I {Hidden}, d_llm {Output}, E {Experts}, top-{TopK}; projector threads {cores}; median of {reps}");

        // Register-only loops of each int8 multiply instruction this CPU runs; the share is taken against the one the
        // chosen kernel issues (VPDPBUSD for avx-vnni, vpmaddwd for avx512vl / avx2), the best loop is reported beside it.
        var maddwdLoop = new PeakLoop("vpmaddwd ymm", Int8MaddwdLoop, 384);
        var dpbusdLoop = AvxVnni.IsSupported ? new PeakLoop("vpdpbusd ymm (AVX-VNNI)", Int8DpbusdLoop, 768) : null;
        var int8Loops = new List<PeakLoop> { maddwdLoop, new("vpmaddubsw+vpmaddwd ymm", Int8MaddubswLoop, 768) };
        if (dpbusdLoop is not null)
        {
            int8Loops.Add(dpbusdLoop);
        }
        if (Avx512BW.IsSupported)
        {
            int8Loops.Add(new("vpmaddwd zmm", Int8Maddwd512Loop, 768));
        }
        var int8Peaks = int8Loops.Select(l => (l, MeasurePeak(cores, l.Loop, l.OpsPerIteration))).ToList();
        var (fmaPeak1, fmaPeak) = MeasurePeak(cores, Fp32FmaLoop, 192);
        Console.WriteLine(Inv($"peak (register-only loops, 12 independent chains), GOP/s one core / {cores} cores: ") +
            Inv($"{string.Join("; ", int8Peaks.Select(p => Inv($"{p.l.Name} {p.Item2.One:F0} / {p.Item2.All:F0}")))}; fp32 FMA {fmaPeak1:F0} / {fmaPeak:F0} ") +
            Inv($"GFLOP/s"));
        var bestLoop = int8Peaks.MaxBy(p => Math.Max(p.Item2.All, cores * p.Item2.One));
        double bestInt8Peak = Math.Max(bestLoop.Item2.All, cores * bestLoop.Item2.One);
        string bestInt8PeakName = bestLoop.l.Name;

        string dir = Path.Combine(Path.GetTempPath(), $"edgeavsr-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            string moePath = Path.Combine(dir, "moe.safetensors");
            string densePath = Path.Combine(dir, "dense.safetensors");
            SyntheticProjector.Write(moePath, new SyntheticProjectorSpec
            {
                Layout = SmopLayout.Dedr, Experts = Experts, AudioDim = Dim, HiddenDim = Hidden, OutputDim = Output, Video = false,
            });
            SyntheticProjector.Write(densePath, new SyntheticProjectorSpec
            {
                Layout = SmopLayout.Dedr, Experts = 1, AudioDim = Dim, HiddenDim = Hidden, OutputDim = Output, Video = false,
            });
            var moe = SmopWeights.Load(moePath, SmopLayout.Dedr);
            var dense = SmopWeights.Load(densePath, SmopLayout.Dedr);
            var int8 = Create(moe, TopK, ProjectorPrecision.Int8, cores);
            var int8One = Create(moe, TopK, ProjectorPrecision.Int8, 1);
            // Its own instance: sharing one would hand the recycled case's array to this one.
            var int8Fresh = Create(moe, TopK, ProjectorPrecision.Int8, cores);
            var fp32 = Create(moe, TopK, ProjectorPrecision.Fp32, cores);
            var denseInt8 = Create(dense, 1, ProjectorPrecision.Int8, cores);
            Console.WriteLine($"kernels: int8 {int8.KernelName}, fp32 {fp32.KernelName}");
            // On a shared machine the all-core loop is what other processes leave us; cores x the one-core loop is the
            // hardware's figure. Both are reported.
            var kernelLoop = int8Peaks.Single(p => p.l == (int8.KernelName == "avx-vnni" ? dpbusdLoop : maddwdLoop));
            string peakName = kernelLoop.l.Name;
            var (int8Peak1, int8Peak) = kernelLoop.Item2;
            double int8PeakHw = Math.Max(int8Peak, cores * int8Peak1);
            KernelOnly();

            BlockKernelOnly(int8.KernelName);
            string? torchScript = noTorch ? null : TorchPeer.FindScript();
            foreach (int t in tokenCounts)
            {
                var x = SyntheticProjector.Features(t, Dim, seed: 11);
                double opsTop2 = 2.0 * t * TopK * ((double)Dim * Hidden + (double)Hidden * Output);
                Console.WriteLine(Inv($"--- {t} tokens: top-{TopK} work {opsTop2 / 1e9:F2} GOP; int8 weights read ") +
                    Inv($"{(double)Experts * (Dim * Hidden + Hidden * Output) / 1e6:F1} MB (x2 as packed int16 for avx2); load average ") +
                    Inv($"{BenchStats.LoadAverage()}"));
                // Our four cases and the PyTorch peer (both thread settings, each a process that times one call per
                // request) take turns rep by rep, so load from other processes or the host falls on all of them alike.
                using var torchDefault = torchScript is null ? null : TorchPeer.Start(torchScript, t, 0);
                using var torchTwo = torchScript is null ? null : TorchPeer.Start(torchScript, t, 2);
                var cases = new List<Func<double>>
                {
                    // The projector cases hand their output back (Recycle), as a stream of same-length calls would;
                    // case 4 is the first case without, so the result is fresh memory every call.
                    () => TimedRecycled(int8, x),
                    () => TimedRecycled(int8One, x),
                    () => TimedRecycled(fp32, x),
                    () => TimedRecycled(denseInt8, x),
                    () => BenchStats.Timed(() => int8Fresh.Project(x, null)),
                };
                // The kernel instruction's register loop on all cores, a few ms in every rep: the peak the host lets us have at that moment.
                const long peakIterations = 5_000_000;
                var allCores = new ParallelOptions { MaxDegreeOfParallelism = cores };
                cases.Add(() => BenchStats.Timed(() => Parallel.For(0, cores, allCores, _ => kernelLoop.l.Loop(peakIterations))));
                if (torchDefault is not null && torchTwo is not null)
                {
                    cases.Add(torchDefault.RunOnce);
                    cases.Add(torchTwo.RunOnce);
                }
                var timed = TimeInterleaved(reps, [.. cases]);
                var (msInt8, bestInt8, cpuInt8, repsInt8) = timed[0];
                var (msOne, bestOne, _, _) = timed[1];
                double msFp32 = timed[2].Median;
                double msDense = timed[3].Median;
                double gops = opsTop2 / (msInt8 * 1e6);
                double gopsBest = opsTop2 / (bestInt8 * 1e6);
                Console.WriteLine(Inv($"int8 top-{TopK}, {cores} threads: median {msInt8:F1} ms, {gops:F0} GOP/s = {100 * gops / int8Peak:F0}% of the ") +
                    Inv($"measured {cores}-core {peakName} peak ({int8Peak:F0}), {100 * gops / int8PeakHw:F0}% of {cores} x its one-core peak ") +
                    Inv($"({int8PeakHw:F0}), {100 * gops / bestInt8Peak:F0}% of the best int8 loop ({bestInt8PeakName}, {bestInt8Peak:F0}), ") +
                    Inv($"{100 * gops / 270:F0}% of the issue's 270 anchor; best {bestInt8:F1} ms = {gopsBest:F0} GOP/s ({100 * gopsBest / int8Peak:F0}% / ") +
                    Inv($"{100 * gopsBest / int8PeakHw:F0}%)"));
                double loopOps = peakIterations * (double)kernelLoop.l.OpsPerIteration * cores;
                var repShare = timed[5].Times.Zip(repsInt8, (peakMs, ours) => (opsTop2 / ours) / (loopOps / peakMs)).Order().ToArray();
                Console.WriteLine(Inv($"int8 top-{TopK}, {cores} threads, share of the all-core {peakName} loop timed in the same rep: median ") +
                    Inv($"{100 * repShare[repShare.Length / 2]:F0}%, range {100 * repShare[0]:F0}-{100 * repShare[^1]:F0}% (that loop's median ") +
                    Inv($"{loopOps / timed[5].Median / 1e6:F0} GOP/s)"));
                Console.WriteLine(Inv($"int8 top-{TopK}, {cores} threads, a fresh result array every call (not recycled): median {timed[4].Median:F1} ms, ") +
                    Inv($"best {timed[4].Best:F1} ms; {timed[4].Median / msInt8:F2}x the recycled median"));
                Console.WriteLine(Inv($"int8 top-{TopK}, 1 thread: median {msOne:F1} ms, best {bestOne:F1} ms ({opsTop2 / (bestOne * 1e6):F0} GOP/s = ") +
                    Inv($"{100 * opsTop2 / (bestOne * 1e6) / int8Peak1:F0}% of the one-core {peakName} peak); {cores}-thread speed-up {msOne / msInt8:F2}x ") +
                    Inv($"median, {bestOne / bestInt8:F2}x best; CPU time per {cores}-thread call {cpuInt8:F1} ms = {opsTop2 / (cpuInt8 * 1e6):F0} GOP per ") +
                    Inv($"CPU-second"));
                Console.WriteLine(Inv($"fp32 top-{TopK}: {msFp32:F1} ms, {opsTop2 / (msFp32 * 1e6):F0} GFLOP/s = ") +
                    Inv($"{100 * opsTop2 / (msFp32 * 1e6) / fmaPeak:F0}% of the FMA peak; int8 speed-up {msFp32 / msInt8:F2}x"));
                Console.WriteLine(Inv($"dense (1 expert, int8): {msDense:F1} ms; top-{TopK} of {Experts} costs {msInt8 / msDense:F2}x dense (target <= ") +
                    Inv($"{1.1 * TopK:F1})"));
                if (torchDefault is not null && torchTwo is not null)
                {
                    // The peer's faster setting by median; the per-rep ratio pairs each of its calls with ours of the same rep.
                    var faster = timed[6].Median <= timed[7].Median ? timed[6] : timed[7];
                    var perRep = faster.Times.Zip(repsInt8, (torch, ours) => torch / ours).Order().ToArray();
                    Console.WriteLine(Inv($"pytorch Top_K_MoE ({torchDefault.Info}), interleaved with ours rep by rep: default threads {timed[6].Median:F1} ") +
                        Inv($"ms, set_num_threads(2) {timed[7].Median:F1} ms; int8 is {faster.Median / msInt8:F2}x faster than the faster of the two ") +
                        Inv($"(per-rep ratios: median {perRep[perRep.Length / 2]:F2}x, range {perRep[0]:F2}-{perRep[^1]:F2}x); fp32 ") +
                        Inv($"{faster.Median / msFp32:F2}x"));
                }
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
        Console.WriteLine($"load average at end: {BenchStats.LoadAverage()}");
        return ExitCodes.Success;
    }

    /// <summary>One GEMM of the first expert Linear (128 tokens x 1024 -> 2048), one thread, every native variant.</summary>
    private static void KernelOnly()
    {
        const int m = 128, n = Hidden, k = Dim;
        var rng = new Random(5);
        var a = new sbyte[m * k];
        var w = new sbyte[n * k];
        rng.NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan()));
        rng.NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(w.AsSpan()));
        var acc = new int[m * n];
        double ops = 2.0 * m * n * k;
        foreach (var kernel in KernelRegistry.Int8Variants.Where(v => v.IsNative && v.Name != "scalar"))
        {
            var packed = kernel.Pack(w, n, k);
            double ms = BenchStats.Time(() => kernel.Multiply(a, m, packed, acc), 5).Median;
            Console.WriteLine(Inv($"kernel only, 1 thread, int8 {kernel.Name}: {m}x{k} by {n}x{k}: {ms:F2} ms, {ops / (ms * 1e6):F0} GOP/s"));
        }
        var fa = a.Select(v => (float)v).ToArray();
        var fw = w.Select(v => (float)v).ToArray();
        var fy = new float[m * n];
        foreach (var kernel in KernelRegistry.Fp32Variants.Where(v => v.IsNative && v.Name != "scalar"))
        {
            var packed = kernel.Pack(fw, n, k);
            double ms = BenchStats.Time(() => kernel.Multiply(fa, m, packed, fy), 5).Median;
            Console.WriteLine(Inv($"kernel only, 1 thread, fp32 {kernel.Name}: {ms:F2} ms, {ops / (ms * 1e6):F0} GFLOP/s"));
        }
    }

    /// <summary>
    /// The projector's GEMM work item alone, one thread: 376 routed rows x one 64-channel block of the second
    /// Linear (K 2048), as the pipeline calls it; the ceiling the end-to-end figures are measured against.
    /// </summary>
    private static void BlockKernelOnly(string kernelName)
    {
        const int m = 376, k = Hidden, block = 64;
        var rng = new Random(6);
        var a = new sbyte[m * k];
        var w = new sbyte[Output * k];
        rng.NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan()));
        rng.NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(w.AsSpan()));
        var kernel = KernelRegistry.Int8Variants.First(v => v.ToString() == kernelName);
        var packed = kernel.Pack(w, Output, k);
        var act = kernel.Activations(a, m, k);
        var acc = new int[m * block];
        int c0 = 0;
        // Walk the column blocks like the pipeline does, so weights come from memory, not a hot cache.
        var (median, best) = BenchStats.Time(() => { kernel.MultiplyColumns(act, packed, c0, block, acc); c0 = (c0 + block) % Output; }, 31);
        double ops = 2.0 * m * block * k;
        Console.WriteLine(Inv($"kernel only, 1 thread, int8 {kernel.Name} work item ({m} rows x {block} channels x K {k}): median {median:F2} ms, best ") +
            Inv($"{best:F2} ms = {ops / (best * 1e6):F0} GOP/s"));
    }

    /// <summary>
    /// Median, best, this process's CPU time per call, and every rep's time (in rep order) of each case; the cases
    /// take turns within every rep. A case returns its own time in milliseconds (a peer process times itself).
    /// </summary>
    private static (double Median, double Best, double CpuMs, double[] Times)[] TimeInterleaved(int reps, params Func<double>[] cases)
    {
        // Warm-up: a few calls each, so the timed reps see steady-state code and buffers.
        foreach (var run in cases)
        {
            for (int i = 0; i < 5; i++)
            {
                run();
            }
        }
        var times = new double[cases.Length][];
        var cpu = new double[cases.Length];
        using var process = Process.GetCurrentProcess();
        for (int c = 0; c < cases.Length; c++)
        {
            times[c] = new double[reps];
        }
        for (int i = 0; i < reps; i++)
        {
            for (int c = 0; c < cases.Length; c++)
            {
                process.Refresh();
                var cpu0 = process.TotalProcessorTime;
                times[c][i] = cases[c]();
                process.Refresh();
                cpu[c] += (process.TotalProcessorTime - cpu0).TotalMilliseconds;
            }
        }
        var result = new (double, double, double, double[])[cases.Length];
        for (int c = 0; c < cases.Length; c++)
        {
            var sorted = times[c].Order().ToArray();
            result[c] = (sorted[reps / 2], sorted[0], cpu[c] / reps, times[c]);
        }
        return result;
    }

    private static int s_rowBlock;

    private static SmopProjector Create(SmopWeights w, int k, ProjectorPrecision precision, int threads)
    {
        var options = new SmopOptions { Routing = RoutingSettings.Create(k, 1, 2), Precision = precision, Threads = threads };
        return SmopProjector.Create(w, s_rowBlock > 0 ? options with { RowBlock = s_rowBlock } : options);
    }

    private static double TimedRecycled(SmopProjector projector, FloatMatrix x)
    {
        ProjectorOutput? output = null;
        double ms = BenchStats.Timed(() => output = projector.Project(x, null));
        projector.Recycle(output!);
        return ms;
    }

    /// <summary>Runs <paramref name="loop"/> on one thread, then on <paramref name="threads"/> at once; returns G-ops/s for both.</summary>
    private static (double One, double All) MeasurePeak(int threads, Func<long, int> loop, int opsPerIteration)
    {
        const long iterations = 20_000_000;
        loop(1000);
        double one = Best(() => loop(iterations));
        double all = Best(() => Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ => loop(iterations)));
        return (iterations * opsPerIteration / one / 1e9, iterations * opsPerIteration * threads / all / 1e9);

        static double Best(Action a)
        {
            double best = double.MaxValue;
            for (int i = 0; i < 3; i++)
            {
                best = Math.Min(best, BenchStats.Timed(a) / 1e3);
            }
            return best;
        }
    }

    // Throughput of the instruction alone: 12 independent chains c = vpmaddwd(c, w), each 16 MACs = 32 ops.
    // Nothing is loop-invariant (each result feeds the next), so the JIT cannot hoist it. 384 ops per iteration.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int Int8MaddwdLoop(long n)
    {
        if (!Avx2.IsSupported)
        {
            return 0;
        }
        var w = Vector256.Create((short)3);
        Vector256<int> c0 = Vector256.Create(1), c1 = Vector256.Create(2), c2 = Vector256.Create(3);
        Vector256<int> c3 = Vector256.Create(4), c4 = Vector256.Create(5), c5 = Vector256.Create(6);
        Vector256<int> c6 = Vector256.Create(7), c7 = Vector256.Create(8), c8 = Vector256.Create(9);
        Vector256<int> c9 = Vector256.Create(10), c10 = Vector256.Create(11), c11 = Vector256.Create(12);
        for (long i = 0; i < n; i++)
        {
            c0 = Avx2.MultiplyAddAdjacent(c0.AsInt16(), w); c1 = Avx2.MultiplyAddAdjacent(c1.AsInt16(), w); c2 = Avx2.MultiplyAddAdjacent(c2.AsInt16(), w);
            c3 = Avx2.MultiplyAddAdjacent(c3.AsInt16(), w); c4 = Avx2.MultiplyAddAdjacent(c4.AsInt16(), w); c5 = Avx2.MultiplyAddAdjacent(c5.AsInt16(), w);
            c6 = Avx2.MultiplyAddAdjacent(c6.AsInt16(), w); c7 = Avx2.MultiplyAddAdjacent(c7.AsInt16(), w); c8 = Avx2.MultiplyAddAdjacent(c8.AsInt16(), w);
            c9 = Avx2.MultiplyAddAdjacent(c9.AsInt16(), w); c10 = Avx2.MultiplyAddAdjacent(c10.AsInt16(), w); c11 = Avx2.MultiplyAddAdjacent(c11.AsInt16(), w);
        }
        return (c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11).GetElement(0);
    }

    // 12 chains c = vpdpbusd(c, a, w): each 32 u8 x s8 products summed into 8 int32 lanes = 64 ops, 768 per iteration.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int Int8DpbusdLoop(long n)
    {
        if (!AvxVnni.IsSupported)
        {
            return 0;
        }
        var a = Vector256.Create((byte)3);
        var w = Vector256.Create((sbyte)2);
        Vector256<int> c0 = Vector256.Create(1), c1 = Vector256.Create(2), c2 = Vector256.Create(3);
        Vector256<int> c3 = Vector256.Create(4), c4 = Vector256.Create(5), c5 = Vector256.Create(6);
        Vector256<int> c6 = Vector256.Create(7), c7 = Vector256.Create(8), c8 = Vector256.Create(9);
        Vector256<int> c9 = Vector256.Create(10), c10 = Vector256.Create(11), c11 = Vector256.Create(12);
        for (long i = 0; i < n; i++)
        {
            c0 = AvxVnni.MultiplyWideningAndAdd(c0, a, w); c1 = AvxVnni.MultiplyWideningAndAdd(c1, a, w); c2 = AvxVnni.MultiplyWideningAndAdd(c2, a, w);
            c3 = AvxVnni.MultiplyWideningAndAdd(c3, a, w); c4 = AvxVnni.MultiplyWideningAndAdd(c4, a, w); c5 = AvxVnni.MultiplyWideningAndAdd(c5, a, w);
            c6 = AvxVnni.MultiplyWideningAndAdd(c6, a, w); c7 = AvxVnni.MultiplyWideningAndAdd(c7, a, w); c8 = AvxVnni.MultiplyWideningAndAdd(c8, a, w);
            c9 = AvxVnni.MultiplyWideningAndAdd(c9, a, w); c10 = AvxVnni.MultiplyWideningAndAdd(c10, a, w); c11 = AvxVnni.MultiplyWideningAndAdd(c11, a, w);
        }
        return (c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11).GetElement(0);
    }

    // 12 chains c = vpmaddwd(c, w) on zmm: 32 MACs = 64 ops per chain, 768 per iteration.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int Int8Maddwd512Loop(long n)
    {
        if (!Avx512BW.IsSupported)
        {
            return 0;
        }
        var w = Vector512.Create((short)3);
        Vector512<int> c0 = Vector512.Create(1), c1 = Vector512.Create(2), c2 = Vector512.Create(3);
        Vector512<int> c3 = Vector512.Create(4), c4 = Vector512.Create(5), c5 = Vector512.Create(6);
        Vector512<int> c6 = Vector512.Create(7), c7 = Vector512.Create(8), c8 = Vector512.Create(9);
        Vector512<int> c9 = Vector512.Create(10), c10 = Vector512.Create(11), c11 = Vector512.Create(12);
        for (long i = 0; i < n; i++)
        {
            c0 = Avx512BW.MultiplyAddAdjacent(c0.AsInt16(), w);
            c1 = Avx512BW.MultiplyAddAdjacent(c1.AsInt16(), w); c2 = Avx512BW.MultiplyAddAdjacent(c2.AsInt16(), w);
            c3 = Avx512BW.MultiplyAddAdjacent(c3.AsInt16(), w);
            c4 = Avx512BW.MultiplyAddAdjacent(c4.AsInt16(), w); c5 = Avx512BW.MultiplyAddAdjacent(c5.AsInt16(), w);
            c6 = Avx512BW.MultiplyAddAdjacent(c6.AsInt16(), w);
            c7 = Avx512BW.MultiplyAddAdjacent(c7.AsInt16(), w); c8 = Avx512BW.MultiplyAddAdjacent(c8.AsInt16(), w);
            c9 = Avx512BW.MultiplyAddAdjacent(c9.AsInt16(), w);
            c10 = Avx512BW.MultiplyAddAdjacent(c10.AsInt16(), w); c11 = Avx512BW.MultiplyAddAdjacent(c11.AsInt16(), w);
        }
        return (c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11).GetElement(0);
    }

    private sealed record PeakLoop(string Name, Func<long, int> Loop, int OpsPerIteration);

    // 12 chains c = vpmaddwd(vpmaddubsw(c, w), ones): 32 MACs = 64 ops per chain, 768 per iteration
    // (the pair behind the ~270 GOP/s figure in shared/docs/performance-anchors.md).
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int Int8MaddubswLoop(long n)
    {
        if (!Avx2.IsSupported)
        {
            return 0;
        }
        var ones = Vector256.Create((short)1);
        var w = Vector256.Create((sbyte)3);
        Vector256<int> c0 = Vector256.Create(1), c1 = Vector256.Create(2), c2 = Vector256.Create(3);
        Vector256<int> c3 = Vector256.Create(4), c4 = Vector256.Create(5), c5 = Vector256.Create(6);
        Vector256<int> c6 = Vector256.Create(7), c7 = Vector256.Create(8), c8 = Vector256.Create(9);
        Vector256<int> c9 = Vector256.Create(10), c10 = Vector256.Create(11), c11 = Vector256.Create(12);
        for (long i = 0; i < n; i++)
        {
            c0 = Avx2.MultiplyAddAdjacent(
                Avx2.MultiplyAddAdjacent(c0.AsByte(), w), ones); c1 = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(c1.AsByte(), w), ones);
            c2 = Avx2.MultiplyAddAdjacent(
                Avx2.MultiplyAddAdjacent(c2.AsByte(), w), ones); c3 = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(c3.AsByte(), w), ones);
            c4 = Avx2.MultiplyAddAdjacent(
                Avx2.MultiplyAddAdjacent(c4.AsByte(), w), ones); c5 = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(c5.AsByte(), w), ones);
            c6 = Avx2.MultiplyAddAdjacent(
                Avx2.MultiplyAddAdjacent(c6.AsByte(), w), ones); c7 = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(c7.AsByte(), w), ones);
            c8 = Avx2.MultiplyAddAdjacent(
                Avx2.MultiplyAddAdjacent(c8.AsByte(), w), ones); c9 = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(c9.AsByte(), w), ones);
            c10 = Avx2.MultiplyAddAdjacent(
                Avx2.MultiplyAddAdjacent(c10.AsByte(), w), ones); c11 = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(c11.AsByte(), w), ones);
        }
        return (c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11).GetElement(0);
    }

    // 12 chains c = c * m + a (FMA): 16 flops per chain, 192 per iteration.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int Fp32FmaLoop(long n)
    {
        if (!Fma.IsSupported)
        {
            return 0;
        }
        var m = Vector256.Create(0.999f);
        var add = Vector256.Create(0.001f);
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        Vector256<float> c6 = default, c7 = default, c8 = default, c9 = default, c10 = default, c11 = default;
        for (long i = 0; i < n; i++)
        {
            c0 = Fma.MultiplyAdd(c0, m, add); c1 = Fma.MultiplyAdd(c1, m, add); c2 = Fma.MultiplyAdd(c2, m, add); c3 = Fma.MultiplyAdd(c3, m, add);
            c4 = Fma.MultiplyAdd(c4, m, add); c5 = Fma.MultiplyAdd(c5, m, add); c6 = Fma.MultiplyAdd(c6, m, add); c7 = Fma.MultiplyAdd(c7, m, add);
            c8 = Fma.MultiplyAdd(c8, m, add); c9 = Fma.MultiplyAdd(c9, m, add); c10 = Fma.MultiplyAdd(c10, m, add); c11 = Fma.MultiplyAdd(c11, m, add);
        }
        return (int)(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11).GetElement(0);
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// The authors' PyTorch module in its own process (<c>smop_reference.py bench --serve</c>), timing one call per
    /// request so the benchmark can interleave it with its own cases.
    /// </summary>
    private sealed class TorchPeer : IDisposable
    {
        private readonly Process _process;

        private TorchPeer(Process process, string info)
        {
            _process = process;
            Info = info;
        }

        public string Info { get; }

        /// <summary>The peer's script, or null (said once) when it or /usr/bin/python3 is missing.</summary>
        public static string? FindScript()
        {
            string? script = BenchStats.FindAbove(Path.Combine("Models", "reference", "smop_reference.py"));
            if (script is null || !File.Exists("/usr/bin/python3"))
            {
                Console.WriteLine("pytorch peer: Models/reference/smop_reference.py or /usr/bin/python3 not found; skipped");
                return null;
            }
            return script;
        }

        public static TorchPeer? Start(string script, int tokens, int threads)
        {
            var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
            string[] arguments =
            [
                script, "bench", "--serve", "--tokens", tokens.ToString(CultureInfo.InvariantCulture),
                "--threads", threads.ToString(CultureInfo.InvariantCulture),
            ];
            foreach (string a in arguments)
            {
                psi.ArgumentList.Add(a);
            }
            var p = Process.Start(psi)!;
            string? ready = p.StandardOutput.ReadLine();
            if (ready is null)
            {
                string stderr = p.StandardError.ReadToEnd();
                p.WaitForExit();
                p.Dispose();
                Console.WriteLine($"pytorch peer failed: {stderr.Trim()}");
                return null;
            }
            using var doc = JsonDocument.Parse(ready);
            var root = doc.RootElement;
            return new TorchPeer(p, $"torch {root.GetProperty("torch").GetString()}, {root.GetProperty("blas").GetString()}");
        }

        /// <summary>One timed call in the peer (its own clock, so pipe latency is not counted).</summary>
        public double RunOnce()
        {
            _process.StandardInput.WriteLine("run");
            _process.StandardInput.Flush();
            string line = _process.StandardOutput.ReadLine() ?? throw new EdgeAvsrException("pytorch peer exited: " +
                $"{_process.StandardError.ReadToEnd().Trim()}");
            // OpenBLAS and OpenMP workers spin for up to ~0.2 s after a call; let them park before our next case runs.
            Thread.Sleep(300);
            return double.Parse(line, CultureInfo.InvariantCulture);
        }

        public void Dispose()
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(10_000))
            {
                _process.Kill();
            }
            _process.Dispose();
        }
    }
}
