namespace EdgeAvsr.Runtime.Projector;

/// <summary>What <see cref="CudaProjectorCheck.Run"/> measured; per-expert arrays are indexed by expert.</summary>
public sealed record CudaProjectorCheckResult
{
    public required int Tokens { get; init; }

    public required int TopK { get; init; }

    public required int Experts { get; init; }

    /// <summary>First GEMM accumulators that differ from the scalar kernel's (0: bit-equal).</summary>
    public required int UpMismatches { get; init; }

    public required int DownMismatches { get; init; }

    /// <summary>Rows the CPU router sent to each expert.</summary>
    public required long[] RoutedRows { get; init; }

    /// <summary>Rows the device's GEMMs computed per expert, given the CPU's routing.</summary>
    public required long[] RowsComputedGivenRouting { get; init; }

    /// <summary>Rows the device's GEMMs computed per expert with its own routing.</summary>
    public required long[] RowsComputedDeviceRouting { get; init; }

    /// <summary>Rows the device's router sent to each expert.</summary>
    public required long[] DeviceRoutedRows { get; init; }

    /// <summary>Whether the device's router chose the CPU's experts in the same slots.</summary>
    public required bool SameExperts { get; init; }

    public required double MaxWeightDifference { get; init; }

    /// <summary>Largest |GPU - CPU INT8| of the projected tokens, the CPU's routing given to the device.</summary>
    public required double MaxOutputDifferenceGivenRouting { get; init; }

    public required double MaxOutputDifferenceDeviceRouting { get; init; }

    /// <summary>Largest |output| of the CPU INT8 path (the scale of the differences).</summary>
    public required double MaxOutput { get; init; }

    /// <summary>Median of the CPU INT8 mixture's wall time per call (best kernel, all cores).</summary>
    public required double CpuMilliseconds { get; init; }

    /// <summary>Median of the GPU call's wall time, copies in and out included.</summary>
    public required double GpuMilliseconds { get; init; }
}
