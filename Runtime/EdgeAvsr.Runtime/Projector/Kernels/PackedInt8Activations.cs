namespace EdgeAvsr.Runtime.Projector.Kernels;

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
