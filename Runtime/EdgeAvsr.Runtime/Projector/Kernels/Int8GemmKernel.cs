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
/// The int8 GEMM of the projector: <c>acc[m, n] = sum_k a[m, k] * w[n, k]</c> with exact int32 accumulation.
/// Every variant returns accumulators bit-equal to <see cref="ScalarInt8Kernel"/> for any int8 input
/// (including -128 and 127) and any m, n, k.
/// </summary>
public abstract class Int8GemmKernel
{
    /// <summary>Short name used by <c>EDGEAVSR_KERNEL</c>, <c>doctor</c> and the tests.</summary>
    public abstract string Name { get; }

    /// <summary>True when this CPU runs the variant's instructions natively; false for a managed emulation of them.</summary>
    public abstract bool IsNative { get; }

    public abstract PackedInt8Matrix Pack(ReadOnlySpan<sbyte> weights, int rows, int columns);

    /// <param name="a">Activations, <c>[m, k]</c> row-major.</param>
    /// <param name="m">Rows of <paramref name="a"/>.</param>
    /// <param name="weights">The packed <c>[n, k]</c> weights.</param>
    /// <param name="acc">Output <c>[m, n]</c> row-major.</param>
    public abstract void Multiply(ReadOnlySpan<sbyte> a, int m, PackedInt8Matrix weights, Span<int> acc);

    protected static void CheckShapes(ReadOnlySpan<sbyte> a, int m, PackedInt8Matrix w, Span<int> acc)
    {
        ArgumentNullException.ThrowIfNull(w);
        if (a.Length < (long)m * w.Columns || acc.Length < (long)m * w.Rows)
        {
            throw new ArgumentException($"int8 GEMM buffers too small for [{m} x {w.Columns}] x [{w.Rows} x {w.Columns}]^T");
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

    public override void Multiply(ReadOnlySpan<sbyte> a, int m, PackedInt8Matrix weights, Span<int> acc)
    {
        CheckShapes(a, m, weights, acc);
        var w = (Plain)weights;
        int n = w.Rows, k = w.Columns;
        for (int i = 0; i < m; i++)
        {
            var ai = a.Slice(i * k, k);
            for (int j = 0; j < n; j++)
            {
                var wj = w.Data.AsSpan(j * k, k);
                int sum = 0;
                for (int t = 0; t < k; t++)
                {
                    sum += ai[t] * wj[t];
                }
                acc[i * n + j] = sum;
            }
        }
    }

    private sealed class Plain(sbyte[] data, int rows, int columns) : PackedInt8Matrix(rows, columns)
    {
        public sbyte[] Data { get; } = data;
    }
}
