using System.Diagnostics;
using EdgeAvsr.Runtime.Projector.Kernels;

namespace EdgeAvsr.Runtime.Projector;

/// <summary>
/// Compares one INT8 mixture on the GPU with the CPU: the int32 accumulators of both GEMMs against the scalar kernel's
/// (the CPU path's own quantization and dequantisation around <see cref="ScalarInt8Kernel"/>), the outputs against the
/// CPU INT8 mixture given the same routing, the device's own routing against the CPU router, and the rows the device's
/// GEMMs counted against the routing's. Needs a CUDA device (<see cref="Interop.SmopCudaLibrary.RequireDevice"/>).
/// </summary>
public static class CudaProjectorCheck
{
    public static CudaProjectorCheckResult Run(MixtureWeights mixture, FloatMatrix x, int k, int timedRuns = 20)
    {
        ArgumentNullException.ThrowIfNull(mixture);
        ArgumentNullException.ThrowIfNull(x);
        var int8 = mixture.ToInt8();
        int e = int8.ExpertCount, d = int8.OutputDim, hidden = int8.Experts[0].HiddenDim, rows = x.Rows * k;
        var (cpuExperts, cpuWeights) = SmopProjector.Route(int8, x, k);
        var routedRows = new long[e];
        foreach (int expert in cpuExperts)
        {
            routedRows[expert]++;
        }

        // The CPU INT8 path (this machine's best kernel) with its own router.
        var cpu = new Int8Mixture([.. int8.Experts], KernelRegistry.SelectInt8(), ThreadCount.Resolve(0));
        var cpuResult = new FloatMatrix(x.Rows, d);
        cpu.Run(x, cpuExperts, cpuWeights, k, new long[e], cpuResult);

        using var gpu = new CudaMixture(int8);
        // The CPU's routing given to the device, accumulators read back.
        var upAcc = new int[rows * hidden];
        var downAcc = new int[rows * d];
        var givenCounts = new long[e];
        var givenResult = new FloatMatrix(x.Rows, d);
        gpu.Run(x, k, (int[])cpuExperts.Clone(), (float[])cpuWeights.Clone(), routingGiven: true, givenCounts, givenResult, upAcc, downAcc);
        var (refUp, refDown) = ScalarAccumulators(int8, x, cpuExperts, k);

        // The device's own routing.
        var gpuExperts = new int[rows];
        var gpuWeights = new float[rows];
        var gpuCounts = new long[e];
        var gpuResult = new FloatMatrix(x.Rows, d);
        gpu.Run(x, k, gpuExperts, gpuWeights, routingGiven: false, gpuCounts, gpuResult);
        var deviceRouted = new long[e];
        foreach (int expert in gpuExperts)
        {
            deviceRouted[expert]++;
        }

        return new CudaProjectorCheckResult
        {
            Tokens = x.Rows,
            TopK = k,
            Experts = e,
            UpMismatches = Mismatches(refUp, upAcc),
            DownMismatches = Mismatches(refDown, downAcc),
            RoutedRows = routedRows,
            RowsComputedGivenRouting = givenCounts,
            RowsComputedDeviceRouting = gpuCounts,
            DeviceRoutedRows = deviceRouted,
            SameExperts = cpuExperts.AsSpan().SequenceEqual(gpuExperts),
            MaxWeightDifference = MaxAbs(cpuWeights, gpuWeights),
            MaxOutputDifferenceGivenRouting = MaxAbs(cpuResult.Data, givenResult.Data),
            MaxOutputDifferenceDeviceRouting = MaxAbs(cpuResult.Data, gpuResult.Data),
            MaxOutput = MaxAbs(cpuResult.Data, new float[cpuResult.Data.Length]),
            CpuMilliseconds = Median(timedRuns, () => cpu.Run(x, cpuExperts, cpuWeights, k, new long[e], new FloatMatrix(x.Rows, d))),
            GpuMilliseconds = Median(timedRuns, () => gpu.Run(x, k, gpuExperts, gpuWeights, routingGiven: false, new long[e], gpuResult)),
        };
    }

    /// <summary>
    /// Both GEMMs' accumulators in the grouped row order, from the CPU path's quantizer, the scalar kernel and the CPU
    /// dequantisation (ReLU after the first Linear) between them.
    /// </summary>
    internal static (int[] Up, int[] Down) ScalarAccumulators(MixtureWeights int8, FloatMatrix x, int[] slotExperts, int k)
    {
        int e = int8.ExpertCount, din = int8.InputDim, rows = slotExperts.Length;
        int hidden = int8.Experts[0].HiddenDim, d = int8.OutputDim;
        var start = new int[e + 1];
        var slotOfRow = new int[rows];
        ExpertGrouping.Group(slotExperts, start, slotOfRow, new int[rows]);
        var scalar = new ScalarInt8Kernel();
        var up = new int[rows * hidden];
        var down = new int[rows * d];
        var q = new sbyte[Math.Max(din, hidden)];
        var h = new float[hidden];
        for (int i = 0; i < e; i++)
        {
            var w = int8.Experts[i];
            var upW = scalar.Pack(w.UpInt8!, hidden, din);
            var downW = scalar.Pack(w.DownInt8!, d, hidden);
            for (int row = start[i]; row < start[i + 1]; row++)
            {
                float s1 = Int8Quantization.QuantizeRow(x.Row(slotOfRow[row] / k), q.AsSpan(0, din));
                var accUp = up.AsSpan(row * hidden, hidden);
                scalar.Multiply(q.AsSpan(0, din), 1, upW, accUp);
                ExpertRuntime.Dequantize(accUp, s1, w.UpScale, w.UpBias, h, relu: true);
                Int8Quantization.QuantizeRow(h, q.AsSpan(0, hidden));
                scalar.Multiply(q.AsSpan(0, hidden), 1, downW, down.AsSpan(row * d, d));
            }
        }
        return (up, down);
    }

    private static int Mismatches(int[] expected, int[] actual)
    {
        int n = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            n += expected[i] != actual[i] ? 1 : 0;
        }
        return n;
    }

    private static double MaxAbs(float[] a, float[] b)
    {
        double max = 0;
        for (int i = 0; i < a.Length; i++)
        {
            max = Math.Max(max, Math.Abs((double)a[i] - b[i]));
        }
        return max;
    }

    private static double Median(int runs, Action run)
    {
        run();
        var times = new double[Math.Max(1, runs)];
        for (int i = 0; i < times.Length; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            run();
            times[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }
        Array.Sort(times);
        return times[times.Length / 2];
    }
}
