using System.CommandLine;
using System.Globalization;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Interop;
using EdgeAvsr.Runtime.Projector;
using EdgeAvsr.Runtime.Projector.Kernels;

namespace EdgeAvsr.Cli.Commands;

/// <summary><c>edgeavsr selftest-projector</c>.</summary>
internal static class SelfTestProjectorCommand
{
    /// <summary>
    /// Generates a small seeded projector and features, runs every layout in fp32 and int8 through the same
    /// path as <c>project</c>, and checks the results (INT8 close to fp32, same experts, every kernel the
    /// CPU runs equal to scalar). Used by the NativeAOT smoke test.
    /// </summary>
    public static Command Create()
    {
        var outOption = new Option<string>("--out") { Description = "Scratch folder", Required = true };
        var expectKernel = new Option<string?>("--expect-kernel")
        {
            Description = "Fail unless this int8 kernel (e.g. advsimd-dot, scalar) is the one chosen for this CPU and executes natively",
        };
        var device = ChoiceOptions.Of<ProjectorDevice>("--projector-device",
            "cpu | cuda: cuda compares the GPU kernels (libsmop_cuda.so) with the CPU INT8 path instead", ProjectorDevice.Cpu);
        var weights = new Option<string?>("--weights") { Description = "With cuda: an INT8 projector file (default: a seeded one made here)" };
        var features = new Option<string?>("--features") { Description = "With cuda: tokens .npy float32 [T, D] for every mixture (default: seeded)" };
        var command = new Command("selftest-projector", "Run the projector end to end on a small seeded model and check the results");
        command.Options.Add(outOption);
        command.Options.Add(expectKernel);
        command.Options.Add(device);
        command.Options.Add(weights);
        command.Options.Add(features);
        CommandActions.Set(command, parse => parse.GetValue(device) == ProjectorDevice.Cuda
            ? SelfTestCuda(parse.GetValue(outOption)!, parse.GetValue(weights), parse.GetValue(features))
            : SelfTest(parse.GetValue(outOption)!, parse.GetValue(expectKernel)));
        return command;
    }

    /// <summary>Largest |GPU - CPU INT8| allowed on the projected tokens: LayerNorm's sums run in another order on the device.</summary>
    public const double CudaOutputBound = 1e-4;

    /// <summary>
    /// Every mixture of INT8 projectors on the GPU against the CPU (<see cref="CudaProjectorCheck"/>): accumulators
    /// bit-equal to the scalar kernel, outputs within <see cref="CudaOutputBound"/>, rows computed equal to the routing's.
    /// Without <c>--weights</c> it first writes two seeded INT8 files and their tokens into <paramref name="dir"/> (odd
    /// widths for the tails; a 1B-pack-sized audio mixture for the time), so a machine without a GPU can prepare them.
    /// Without a CUDA device: one line saying so, exit 2.
    /// </summary>
    private static int SelfTestCuda(string dir, string? weightsPath, string? featuresPath)
    {
        var checks = new List<(string Weights, string? Features)>();
        if (weightsPath is null)
        {
            Directory.CreateDirectory(dir);
            checks.Add(WriteCheckData(dir, "tails", new SyntheticProjectorSpec
            {
                Layout = SmopLayout.Dedr, Experts = 8, AudioDim = 97, VideoDim = 97, HiddenDim = 203, OutputDim = 131,
            }, tokens: 301));
            checks.Add(WriteCheckData(dir, "1b", new SyntheticProjectorSpec
            {
                Layout = SmopLayout.Dedr, Experts = 4, AudioDim = 1024, HiddenDim = 1024, OutputDim = 2048, Video = false,
            }, tokens: 750));
        }
        else
        {
            checks.Add((weightsPath, featuresPath));
        }
        var probe = SmopCudaLibrary.RequireDevice();
        Console.WriteLine($"cuda: {probe.LibraryPath}: {probe.Description}");
        Console.WriteLine($"cpu: {KernelRegistry.DescribeCpu()}, {Environment.ProcessorCount} logical cores; int8 kernel {KernelRegistry.SelectInt8().Name}");
        bool ok = true;
        foreach (var (weights, features) in checks)
        {
            var w = SmopWeights.Load(weights, null);
            int k = w.Routing!.TopK;
            foreach (var mixture in new[] { w.Audio, w.Video }.OfType<MixtureWeights>().Distinct())
            {
                var x = features is null ? SyntheticProjector.Features(301, mixture.InputDim, seed: 7) : ReadTokens(features, mixture.InputDim);
                var r = CudaProjectorCheck.Run(mixture, x, k);
                bool counted = r.RowsComputedGivenRouting.AsSpan().SequenceEqual(r.RoutedRows)
                    && r.RowsComputedDeviceRouting.AsSpan().SequenceEqual(r.DeviceRoutedRows);
                bool pass = r.UpMismatches == 0 && r.DownMismatches == 0 && counted && r.MaxOutputDifferenceGivenRouting <= CudaOutputBound
                    && (!r.SameExperts || r.MaxOutputDifferenceDeviceRouting <= CudaOutputBound);
                ok &= pass;
                var e0 = mixture.Experts[0];
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{(pass ? "PASS" : "FAIL")} {Path.GetFileName(weights)} {mixture.Name} (D={e0.InputDim} I={e0.HiddenDim} d={e0.OutputDim}): "
                    + $"{r.Tokens} tokens top-{r.TopK} of {r.Experts} experts; accumulator mismatches vs scalar: up {r.UpMismatches}, down "
                    + $"{r.DownMismatches}; rows computed {string.Join(",", r.RowsComputedGivenRouting)} (routing {string.Join(",", r.RoutedRows)}; "
                    + $"device routing {string.Join(",", r.RowsComputedDeviceRouting)} for {string.Join(",", r.DeviceRoutedRows)}); max |gpu-cpu| "
                    + $"{r.MaxOutputDifferenceGivenRouting:E2} given the routing, {r.MaxOutputDifferenceDeviceRouting:E2} with the device's (experts "
                    + $"{(r.SameExperts ? "same" : "DIFFERENT")}, weights max diff {r.MaxWeightDifference:E2}; |out| <= {r.MaxOutput:F2}; bound "
                    + $"{CudaOutputBound:E0}); median ms: gpu {r.GpuMilliseconds:F3} cpu int8 {r.CpuMilliseconds:F3}"));
            }
        }
        Console.WriteLine($"selftest-projector cuda: {(ok ? "ok" : "FAILED")}");
        return ok ? ExitCodes.Success : ExitCodes.Failure;
    }

    /// <summary>A seeded INT8 projector file (top-2) and seeded tokens for it: NAME.int8.safetensors, NAME.tokens.npy.</summary>
    private static (string Weights, string Features) WriteCheckData(string dir, string name, SyntheticProjectorSpec spec, int tokens)
    {
        string fp32 = Path.Combine(dir, $"{name}.fp32.safetensors");
        string int8 = Path.Combine(dir, $"{name}.int8.safetensors");
        string features = Path.Combine(dir, $"{name}.tokens.npy");
        SyntheticProjector.Write(fp32, spec);
        Int8ProjectorFile.Write(int8, SmopWeights.Load(fp32, spec.Layout), RoutingSettings.Create(2, 1, 1));
        File.Delete(fp32);
        var x = SyntheticProjector.Features(tokens, spec.AudioDim, seed: 11);
        Runtime.Formats.NpyFile.Write(features, x.Data, x.Rows, x.Columns);
        return (int8, features);
    }

    private static FloatMatrix ReadTokens(string path, int width)
    {
        var npy = Runtime.Formats.NpyFile.ReadFloat32(path);
        if (npy.Shape.Length != 2 || npy.Shape[1] != width)
        {
            throw new EdgeAvsrException($"{path}: expected float32 [T, {width}], found shape [{string.Join(", ", npy.Shape)}]");
        }
        return new FloatMatrix(npy.Data, (int)npy.Shape[0], width);
    }

    private static int SelfTest(string dir, string? expectKernel)
    {
        var chosen = KernelRegistry.SelectInt8();
        Console.WriteLine($"cpu: {KernelRegistry.DescribeCpu()}");
        Console.WriteLine($"int8 kernel chosen: {chosen} ({(chosen.IsNative ? "executes natively" : "NOT native")})");
        if (expectKernel is not null && (chosen.Name != expectKernel || !chosen.IsNative))
        {
            throw new EdgeAvsrException($"--expect-kernel {expectKernel}: this CPU chose the int8 kernel {chosen}");
        }
        Directory.CreateDirectory(dir);
        var audio = SyntheticProjector.Features(37, 48, seed: 1);
        var video = SyntheticProjector.Features(19, 48, seed: 2);
        string audioPath = Path.Combine(dir, "audio.npy"), videoPath = Path.Combine(dir, "video.npy");
        Runtime.Formats.NpyFile.Write(audioPath, audio.Data, audio.Rows, audio.Columns);
        Runtime.Formats.NpyFile.Write(videoPath, video.Data, video.Rows, video.Columns);
        foreach (var layout in new[] { SmopLayout.Jejr, SmopLayout.Dejr, SmopLayout.Dedr })
        {
            string weights = Path.Combine(dir, $"{layout.ToText()}.safetensors");
            SyntheticProjector.Write(weights,
                new SyntheticProjectorSpec { Layout = layout, Experts = 4, AudioDim = 48, VideoDim = 48, HiddenDim = 40, OutputDim = 36 });
            ProjectorOutput? reference = null;
            foreach (var precision in new[] { ProjectorPrecision.Fp32, ProjectorPrecision.Int8 })
            {
                var (projector, output, _) = ProjectCommand.Run(new ProjectRequest
                {
                    WeightsPath = weights,
                    Layout = layout,
                    TopK = 2,
                    AudioPath = audioPath,
                    VideoPath = videoPath,
                    Precision = precision,
                    OutputDirectory = Path.Combine(dir, $"{layout.ToText()}-{precision.ToText()}"),
                });
                long expected = 2L * (output.Audio!.Tokens.Rows + output.Video!.Tokens.Rows);
                if (output.TotalExpertRows != expected)
                {
                    throw new InvalidOperationException(
                        $"{layout.ToText()} {precision.ToText()}: {output.TotalExpertRows} expert rows computed, expected {expected} (top-2 only)");
                }
                reference ??= output;
                double err = Math.Max(Runtime.RelativeL2.Of(reference.Audio!.Tokens.Data, output.Audio.Tokens.Data),
                    Runtime.RelativeL2.Of(reference.Video!.Tokens.Data, output.Video.Tokens.Data));
                bool sameExperts = reference.Audio.Experts.AsSpan().SequenceEqual(output.Audio.Experts)
                    && reference.Video.Experts.AsSpan().SequenceEqual(output.Video.Experts);
                var (a, v) = (output.Audio.Tokens, output.Video.Tokens);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{layout.ToText()} {precision.ToText(),-4} kernel {projector.KernelName,-12} audio {a.Rows}x{a.Columns} video {v.Rows}x{v.Columns} "
                    + $"rel-L2 vs fp32 {err:E2} experts {(sameExperts ? "same" : "DIFFERENT")}"));
                if (err > 2e-2 || !sameExperts)
                {
                    throw new InvalidOperationException($"{layout.ToText()} {precision.ToText()}: relative error {err} or expert choice differs from fp32");
                }
                if (precision == ProjectorPrecision.Int8)
                {
                    // The same mixture on the scalar kernel: accumulators are exact and the epilogue is shared, so every bit agrees.
                    var scalarOptions = projector.Options with { Int8Kernel = new ScalarInt8Kernel() };
                    var scalarRun = SmopProjector.Create(projector.Weights, scalarOptions).Project(audio, video);
                    bool bitEqual = SameBits(output.Audio, scalarRun.Audio!) && SameBits(output.Video, scalarRun.Video!);
                    string name = $"{layout.ToText()} int8 kernel {projector.KernelName}";
                    Console.WriteLine($"{name} vs scalar: tokens and experts {(bitEqual ? "bit-equal" : "DIFFERENT")}");
                    if (!bitEqual)
                    {
                        throw new InvalidOperationException($"{name}: tokens or experts differ from the scalar kernel's");
                    }
                }
            }
        }
        // Every int8 variant this CPU runs agrees bit for bit with the scalar reference, on shapes that cover the
        // tails of k (mod 4), n (mod 16) and m, and a k past the cache block.
        var rng = new Random(3);
        var scalar = new ScalarInt8Kernel();
        (int M, int N, int K)[] shapes = [(9, 21, 37), (1, 1, 1), (4, 16, 4), (7, 33, 65), (13, 70, 1100)];
        foreach (var k in KernelRegistry.Int8Variants.Where(k => k.IsNative))
        {
            foreach (var (m, n, depth) in shapes)
            {
                var a = new sbyte[m * depth];
                var w = new sbyte[n * depth];
                rng.NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan()));
                rng.NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(w.AsSpan()));
                a[0] = w[0] = -128;
                var expectedAcc = new int[m * n];
                scalar.Multiply(a, m, scalar.Pack(w, n, depth), expectedAcc);
                var acc = new int[m * n];
                k.Multiply(a, m, k.Pack(w, n, depth), acc);
                if (!acc.AsSpan().SequenceEqual(expectedAcc))
                {
                    throw new InvalidOperationException($"int8 kernel {k.Name} differs from scalar at m={m} n={n} k={depth}");
                }
            }
            Console.WriteLine($"int8 kernel {k.Name}: accumulators bit-equal to scalar on {shapes.Length} shapes");
        }
        Console.WriteLine($"selftest-projector: ok (int8 kernel {chosen.Name})");
        return ExitCodes.Success;
    }

    private static bool SameBits(ModalityTokens a, ModalityTokens b) =>
        a.Experts.AsSpan().SequenceEqual(b.Experts)
        && System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.Tokens.Data.AsSpan())
            .SequenceEqual(System.Runtime.InteropServices.MemoryMarshal.AsBytes(b.Tokens.Data.AsSpan()));
}
