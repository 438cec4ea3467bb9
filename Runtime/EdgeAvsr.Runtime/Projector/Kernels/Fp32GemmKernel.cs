using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeAvsr.Runtime.Projector.Kernels;

/// <summary>
/// The fp32 GEMM of the projector: <c>out[m, n] = sum_k a[m, k] * w[n, k]</c>, the reference path.
/// Variants differ only in summation order (fused multiply-adds), so they agree with an fp64
/// reference to float rounding, not bit for bit.
/// </summary>
public abstract class Fp32GemmKernel
{
    public abstract string Name { get; }

    public abstract bool IsNative { get; }

    public abstract PackedFloatMatrix Pack(ReadOnlySpan<float> weights, int rows, int columns);

    public abstract void Multiply(ReadOnlySpan<float> a, int m, PackedFloatMatrix weights, Span<float> output);

    protected static void CheckShapes(ReadOnlySpan<float> a, int m, PackedFloatMatrix w, Span<float> output)
    {
        ArgumentNullException.ThrowIfNull(w);
        if (a.Length < (long)m * w.Columns || output.Length < (long)m * w.Rows)
        {
            throw new ArgumentException($"fp32 GEMM buffers too small for [{m} x {w.Columns}] x [{w.Rows} x {w.Columns}]^T");
        }
    }

    public override string ToString() => Name;
}
