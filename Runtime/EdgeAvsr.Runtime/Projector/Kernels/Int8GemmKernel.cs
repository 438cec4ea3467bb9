namespace EdgeAvsr.Runtime.Projector.Kernels;

/// <summary>
/// The int8 GEMM of the projector: <c>acc[m, n] = sum_k a[m, k] * w[n, k]</c> with exact int32 accumulation.
/// Every variant returns accumulators bit-equal to <see cref="ScalarInt8Kernel"/> for any int8 input
/// (including -128 and 127) and any m, n, k, for the whole matrix and for any block of output columns.
/// </summary>
public abstract class Int8GemmKernel
{
    /// <summary>Short name used by <c>EDGEAVSR_KERNEL</c>, <c>doctor</c> and the tests.</summary>
    public abstract string Name { get; }

    /// <summary>True when this CPU runs the variant's instructions natively.</summary>
    public abstract bool IsNative { get; }

    /// <summary>
    /// True when the variant runs here as a managed emulation of instructions this CPU lacks (for the tests;
    /// never selected). A variant neither native nor emulated cannot run here and throws <see cref="PlatformNotSupportedException"/>.
    /// </summary>
    public virtual bool IsEmulated => false;

    /// <summary>Whether <see cref="MultiplyColumns"/> can run on this machine, natively or emulated.</summary>
    public bool CanRun => IsNative || IsEmulated;

    public abstract PackedInt8Matrix Pack(ReadOnlySpan<sbyte> weights, int rows, int columns);

    /// <summary>An empty activation buffer in this variant's layout.</summary>
    public abstract PackedInt8Activations CreateActivations();

    /// <summary>
    /// <c>acc[i, j - columnStart] = sum_k a[i, k] * w[j, k]</c> for the output channels
    /// <c>columnStart .. columnStart + columnCount - 1</c>; <paramref name="acc"/> is <c>[m, columnCount]</c> row-major.
    /// Threads may compute disjoint column blocks of the same activations at once.
    /// </summary>
    public abstract void MultiplyColumns(PackedInt8Activations a, PackedInt8Matrix weights, int columnStart, int columnCount, Span<int> acc);

    /// <param name="a">Activations, <c>[m, k]</c> row-major.</param>
    /// <param name="m">Rows of <paramref name="a"/>.</param>
    /// <param name="weights">The packed <c>[n, k]</c> weights.</param>
    /// <param name="acc">Output <c>[m, n]</c> row-major.</param>
    public void Multiply(ReadOnlySpan<sbyte> a, int m, PackedInt8Matrix weights, Span<int> acc)
    {
        ArgumentNullException.ThrowIfNull(weights);
        int k = weights.Columns;
        if (a.Length < (long)m * k || acc.Length < (long)m * weights.Rows)
        {
            throw new ArgumentException($"int8 GEMM buffers too small for [{m} x {k}] x [{weights.Rows} x {k}]^T");
        }
        MultiplyColumns(Activations(a, m, k), weights, 0, weights.Rows, acc);
    }

    /// <summary>A new activation buffer in this variant's layout holding <paramref name="a"/> (<c>[m, k]</c> row-major).</summary>
    public PackedInt8Activations Activations(ReadOnlySpan<sbyte> a, int m, int k)
    {
        var packed = CreateActivations();
        packed.Resize(m, k);
        for (int i = 0; i < m; i++)
        {
            packed.SetRow(i, a.Slice(i * k, k));
        }
        return packed;
    }

    protected static void CheckShapes(PackedInt8Activations a, PackedInt8Matrix w, int columnStart, int columnCount, Span<int> acc)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(w);
        if (a.Columns != w.Columns)
        {
            throw new ArgumentException($"int8 GEMM: activations have k={a.Columns}, weights k={w.Columns}");
        }
        if (columnStart < 0 || columnCount < 0 || columnStart + columnCount > w.Rows)
        {
            throw new ArgumentException($"int8 GEMM: columns {columnStart}+{columnCount} outside the {w.Rows} output channels");
        }
        if (acc.Length < (long)a.Rows * columnCount)
        {
            throw new ArgumentException($"int8 GEMM: output too small for [{a.Rows} x {columnCount}]");
        }
    }

    public override string ToString() => IsNative ? Name : Name + " (emulated)";
}
