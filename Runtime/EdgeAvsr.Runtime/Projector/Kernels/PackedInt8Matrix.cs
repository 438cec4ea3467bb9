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
