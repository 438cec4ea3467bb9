using EdgeAvsr.Runtime.Interop;
using EdgeAvsr.Runtime.Projector;
using EdgeAvsr.Runtime.Projector.Kernels;
using Xunit.Abstractions;

namespace EdgeAvsr.Runtime.Tests.Projector;

/// <summary>
/// The CUDA projector (native/smop-cuda through <see cref="SmopCudaLibrary"/>). The binding tests run wherever
/// <c>./build.sh cuda</c> built libsmop_cuda.so; the GPU tests only where a CUDA device exists, and report themselves
/// skipped with the probe's reason elsewhere (these machines have no GPU).
/// </summary>
public class CudaProjectorTests(ITestOutputHelper output)
{
    /// <summary>Largest |GPU - CPU INT8| on the projected tokens (LayerNorm's sums run in another order on the device).</summary>
    private const double OutputBound = 1e-4;

    /// <summary>Runs where libsmop_cuda.so is beside the tests.</summary>
    public sealed class CudaLibraryFactAttribute : FactAttribute
    {
        public CudaLibraryFactAttribute()
        {
            if (SmopCudaLibrary.Probe().LibraryPath is null)
            {
                Skip = $"{SmopCudaLibrary.Probe().Description}";
            }
        }
    }

    /// <summary>Runs where the library sees a CUDA device.</summary>
    public sealed class CudaDeviceFactAttribute : FactAttribute
    {
        public CudaDeviceFactAttribute()
        {
            var probe = SmopCudaLibrary.Probe();
            if (probe.DeviceCount == 0)
            {
                Skip = $"needs a CUDA device: {probe.Description}";
            }
        }
    }

    [CudaLibraryFact]
    public void Library_LoadsWithoutDevice_AndSaysSoInOneLine()
    {
        var probe = SmopCudaLibrary.Probe();
        output.WriteLine($"{probe.LibraryPath}: {probe.DeviceCount} device(s): {probe.Description}");
        Assert.Equal(Path.Combine(AppContext.BaseDirectory, SmopCudaLibrary.FileName), probe.LibraryPath);
        Assert.Single(probe.Description.Split('\n'));
        if (probe.DeviceCount > 0)
        {
            Assert.Matches(", sm_[0-9]+, ", probe.Description);
            return;
        }
        Assert.StartsWith("no CUDA device (cudaGetDeviceCount: cudaError", probe.Description, StringComparison.Ordinal);
        var weights = Mixture(experts: 4, din: 16, hidden: 24, dout: 12, seed: 1);
        var e = Assert.Throws<EdgeAvsrException>(() => new CudaMixture(weights.ToInt8()));
        Assert.Single(e.Message.Split('\n'));
        Assert.StartsWith($"projector device cuda: {probe.LibraryPath}: no CUDA device", e.Message, StringComparison.Ordinal);
        // The projector refuses the same way, and the library keeps answering afterwards.
        var w = new SmopWeights { Layout = SmopLayout.Dedr, Audio = weights.ToInt8(), IsInt8 = true };
        var options = new SmopOptions { Routing = RoutingSettings.Create(2, 1, 1), Precision = ProjectorPrecision.Int8, Device = ProjectorDevice.Cuda };
        Assert.Contains("no CUDA device", Assert.Throws<EdgeAvsrException>(() => SmopProjector.Create(w, options)).Message, StringComparison.Ordinal);
        Assert.Equal(probe, SmopCudaLibrary.Probe());
    }

    [Fact]
    public void CudaDevice_NeedsTheInt8Projector()
    {
        var w = new SmopWeights { Layout = SmopLayout.Dedr, Audio = Mixture(4, 16, 24, 12, seed: 2) };
        var options = new SmopOptions { Routing = RoutingSettings.Create(2, 1, 1), Precision = ProjectorPrecision.Fp32, Device = ProjectorDevice.Cuda };
        var e = Assert.Throws<EdgeAvsrException>(() => SmopProjector.Create(w, options));
        Assert.Equal("device cuda runs the INT8 projector; these weights run in fp32", e.Message);
    }

    /// <summary>
    /// The GPU test's reference is the CPU path's own chain (quantizer, scalar kernel, dequantisation, requantization);
    /// checked here against the fp32 mixture: the second layer's accumulators, dequantised, must be near the float result.
    /// </summary>
    [Fact]
    public void ScalarAccumulators_DequantisedAreNearTheFloatExperts()
    {
        var fp32 = Mixture(4, 20, 28, 18, seed: 3);
        var int8 = fp32.ToInt8();
        var x = SyntheticProjector.Features(9, 20, seed: 4);
        var (experts, _) = SmopProjector.Route(int8, x, 2);
        var (up, down) = CudaProjectorCheck.ScalarAccumulators(int8, x, experts, 2);
        Assert.Equal(9 * 2 * 28, up.Length);
        Assert.Contains(up, a => a != 0);
        // Row 0 of the row space is the first slot routed to the lowest expert used; compare its second Linear's
        // output before LayerNorm with float32 arithmetic on the unquantised weights.
        int expert = experts.Min();
        int slot = Array.IndexOf(experts, expert);
        var w = fp32.Experts[expert];
        var h = new float[28];
        for (int j = 0; j < 28; j++)
        {
            float s = w.UpBias[j];
            for (int t = 0; t < 20; t++)
            {
                s += x.Row(slot / 2)[t] * w.Up![j * 20 + t];
            }
            h[j] = MathF.Max(s, 0);
        }
        var hq = new sbyte[28];
        float hs = Int8Quantization.QuantizeRow(h, hq);
        for (int c = 0; c < 18; c++)
        {
            float exact = w.DownBias[c];
            for (int j = 0; j < 28; j++)
            {
                exact += h[j] * w.Down![c * 28 + j];
            }
            float fromAcc = down[c] * hs * int8.Experts[expert].DownScale![c] + w.DownBias[c];
            Assert.True(Math.Abs(exact - fromAcc) < 0.05, $"channel {c}: float {exact}, from the int8 accumulators {fromAcc}");
        }
    }

    /// <summary>Shapes with tails: D and I not multiples of 4 or 64, an expert count that leaves experts unrouted.</summary>
    [CudaDeviceFact]
    public void Gpu_AccumulatorsBitEqualScalar_OutputsNearCpuInt8_RowsComputedEqualRouting()
    {
        (int Experts, int Din, int Hidden, int Dout, int Tokens, int K)[] shapes =
            [(4, 16, 24, 12, 7, 2), (8, 97, 203, 131, 301, 2), (16, 256, 512, 320, 150, 3), (3, 5, 7, 9, 1, 1)];
        foreach (var (e, din, hidden, dout, tokens, k) in shapes)
        {
            var mixture = Mixture(e, din, hidden, dout, seed: din);
            var x = SyntheticProjector.Features(tokens, din, seed: tokens);
            var r = CudaProjectorCheck.Run(mixture, x, k, timedRuns: 3);
            output.WriteLine($"E={e} D={din} I={hidden} d={dout} T={tokens} k={k}: mismatches up {r.UpMismatches} down {r.DownMismatches}, "
                + $"max diff {r.MaxOutputDifferenceGivenRouting:E2} / {r.MaxOutputDifferenceDeviceRouting:E2}, experts same {r.SameExperts}");
            Assert.Equal(0, r.UpMismatches);
            Assert.Equal(0, r.DownMismatches);
            Assert.Equal(r.RoutedRows, r.RowsComputedGivenRouting);
            Assert.Equal(r.DeviceRoutedRows, r.RowsComputedDeviceRouting);
            Assert.Equal(tokens * k, r.RowsComputedGivenRouting.Sum());
            Assert.True(r.MaxOutputDifferenceGivenRouting <= OutputBound, $"max |gpu - cpu| {r.MaxOutputDifferenceGivenRouting}");
            Assert.True(r.MaxWeightDifference <= 1e-5, $"router weights differ by {r.MaxWeightDifference}");
            if (r.SameExperts)
            {
                Assert.True(r.MaxOutputDifferenceDeviceRouting <= OutputBound, $"max |gpu - cpu| {r.MaxOutputDifferenceDeviceRouting} (device routing)");
            }
        }
    }

    /// <summary>A seeded float mixture with PyTorch-like Linear initialisation and perturbed LayerNorm.</summary>
    private static MixtureWeights Mixture(int experts, int din, int hidden, int dout, int seed)
    {
        var rng = new Random(seed);
        float[] Uniform(int n, int fanIn) => [.. Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() * 2 - 1) / Math.Sqrt(fanIn)))];
        return new MixtureWeights
        {
            Name = "audio",
            RouterKey = "router",
            Router = Uniform(experts * din, din),
            Experts =
            [
                .. Enumerable.Range(0, experts).Select(_ => new ExpertWeights
                {
                    InputDim = din,
                    HiddenDim = hidden,
                    OutputDim = dout,
                    Up = Uniform(hidden * din, din),
                    UpBias = Uniform(hidden, din),
                    Down = Uniform(dout * hidden, hidden),
                    DownBias = Uniform(dout, hidden),
                    NormWeight = [.. Uniform(dout, 1).Select(v => 1 + 0.1f * v)],
                    NormBias = Uniform(dout, 100),
                }),
            ],
        };
    }
}
