using System.Buffers;
using System.Runtime.CompilerServices;
using EdgeAvsr.Runtime.Projector.Kernels;

namespace EdgeAvsr.Runtime.Projector;

/// <summary>How to run a projector.</summary>
public sealed record SmopOptions
{
    /// <summary>Top-k and the pooling rates, checked when made.</summary>
    public required RoutingSettings Routing { get; init; }

    public ProjectorPrecision Precision { get; init; } = ProjectorPrecision.Fp32;

    /// <summary>Where the INT8 mixtures run; <see cref="ProjectorDevice.Cuda"/> needs <see cref="ProjectorPrecision.Int8"/>.</summary>
    public ProjectorDevice Device { get; init; } = ProjectorDevice.Cpu;

    /// <summary>Worker threads; 0 means one per logical core.</summary>
    public int Threads { get; init; }

    /// <summary>Force a kernel variant (tests, benchmarks); null picks the best this CPU runs.</summary>
    public Int8GemmKernel? Int8Kernel { get; init; }

    public Fp32GemmKernel? Fp32Kernel { get; init; }

    /// <summary>Rows of one work item in the float32 path (tokens of one expert computed together); the INT8 path splits work by output channels
    /// instead.</summary>
    public int RowBlock { get; init; } = 64;
}
