namespace EdgeAvsr.Runtime.Projector.Kernels;

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
