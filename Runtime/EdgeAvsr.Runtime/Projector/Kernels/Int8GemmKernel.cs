namespace EdgeAvsr.Runtime.Projector.Kernels;

/// <summary>
/// A weight matrix <c>W[n, k]</c> (int8, PyTorch <c>[out, in]</c> layout) repacked once for one kernel variant.
/// </summary>
public abstract class PackedInt8Matrix
{
    protected PackedInt8Matrix(int rows, int columns)
    {
        Rows = rows;
        Columns = columns;
    }

    /// <summary>Output channels (n).</summary>
    public int Rows { get; }

    /// <summary>Reduction length (k).</summary>
    public int Columns { get; }
}

/// <summary>
/// Int8 activations <c>A[m, k]</c> laid out for one kernel variant (widened, offset or padded as it needs),
/// filled row by row so rows can be quantized in parallel straight into the kernel's layout. An instance
/// is reusable: <see cref="Resize"/> keeps its buffer when it is large enough.
/// </summary>
public abstract class PackedInt8Activations
{
    /// <summary>Rows (m).</summary>
    public int Rows { get; private set; }

    /// <summary>Reduction length (k).</summary>
    public int Columns { get; private set; }

    /// <summary>Makes room for <paramref name="rows"/> x <paramref name="columns"/>; every row must then be set with <see cref="SetRow"/>.</summary>
    public void Resize(int rows, int columns)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        Rows = rows;
        Columns = columns;
        OnResize(rows, columns);
    }

    /// <summary>Writes row <paramref name="row"/> (k values). Distinct rows may be set from different threads.</summary>
    public void SetRow(int row, ReadOnlySpan<sbyte> values)
    {
        if ((uint)row >= (uint)Rows || values.Length != Columns)
        {
            throw new ArgumentException($"activation row {row} of length {values.Length} does not fit [{Rows} x {Columns}]");
        }
        OnSetRow(row, values);
    }

    protected abstract void OnResize(int rows, int columns);

    protected abstract void OnSetRow(int row, ReadOnlySpan<sbyte> values);
}

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

/// <summary>The portable reference: plain loops, no SIMD.</summary>
public sealed class ScalarInt8Kernel : Int8GemmKernel
{
    public override string Name => "scalar";

    public override bool IsNative => true;

    public override PackedInt8Matrix Pack(ReadOnlySpan<sbyte> weights, int rows, int columns) => new Plain(weights.ToArray(), rows, columns);

    public override PackedInt8Activations CreateActivations() => new PlainActivations();

    public override void MultiplyColumns(PackedInt8Activations a, PackedInt8Matrix weights, int columnStart, int columnCount, Span<int> acc)
    {
        CheckShapes(a, weights, columnStart, columnCount, acc);
        var w = (Plain)weights;
        var pa = (PlainActivations)a;
        int m = a.Rows, k = w.Columns;
        for (int i = 0; i < m; i++)
        {
            var ai = pa.Data.AsSpan(i * k, k);
            for (int j = 0; j < columnCount; j++)
            {
                var wj = w.Data.AsSpan((columnStart + j) * k, k);
                int sum = 0;
                for (int t = 0; t < k; t++)
                {
                    sum += ai[t] * wj[t];
                }
                acc[i * columnCount + j] = sum;
            }
        }
    }

    private sealed class Plain(sbyte[] data, int rows, int columns) : PackedInt8Matrix(rows, columns)
    {
        public sbyte[] Data { get; } = data;
    }

    private sealed class PlainActivations : PackedInt8Activations
    {
        public sbyte[] Data { get; private set; } = [];

        protected override void OnResize(int rows, int columns)
        {
            if (Data.Length < rows * columns)
            {
                Data = new sbyte[rows * columns];
            }
        }

        protected override void OnSetRow(int row, ReadOnlySpan<sbyte> values) => values.CopyTo(Data.AsSpan(row * Columns));
    }
}
