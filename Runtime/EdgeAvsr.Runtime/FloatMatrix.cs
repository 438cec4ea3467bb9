namespace EdgeAvsr.Runtime;

/// <summary>A row-major float32 matrix: <see cref="Rows"/> tokens (or frames) of <see cref="Columns"/> features.</summary>
public sealed class FloatMatrix
{
    public FloatMatrix(int rows, int columns)
        : this(new float[checked(rows * columns)], rows, columns)
    {
    }

    public FloatMatrix(float[] data, int rows, int columns)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        if ((long)rows * columns != data.Length)
        {
            throw new ArgumentException($"{data.Length} values do not fill a {rows} x {columns} matrix", nameof(data));
        }
        Data = data;
        Rows = rows;
        Columns = columns;
    }

    public float[] Data { get; }

    public int Rows { get; }

    public int Columns { get; }

    public Span<float> Row(int r) => Data.AsSpan(r * Columns, Columns);
}
