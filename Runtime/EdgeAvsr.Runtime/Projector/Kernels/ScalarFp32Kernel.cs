using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeAvsr.Runtime.Projector.Kernels;

public sealed class ScalarFp32Kernel : Fp32GemmKernel
{
    public override string Name => "scalar";

    public override bool IsNative => true;

    public override PackedFloatMatrix Pack(ReadOnlySpan<float> weights, int rows, int columns) => new Plain(weights.ToArray(), rows, columns);

    public override void Multiply(ReadOnlySpan<float> a, int m, PackedFloatMatrix weights, Span<float> output)
    {
        CheckShapes(a, m, weights, output);
        var w = (Plain)weights;
        int n = w.Rows, k = w.Columns;
        for (int i = 0; i < m; i++)
        {
            var ai = a.Slice(i * k, k);
            for (int j = 0; j < n; j++)
            {
                var wj = w.Data.AsSpan(j * k, k);
                float sum = 0;
                for (int t = 0; t < k; t++)
                {
                    sum += ai[t] * wj[t];
                }
                output[i * n + j] = sum;
            }
        }
    }

    private sealed class Plain(float[] data, int rows, int columns) : PackedFloatMatrix(rows, columns)
    {
        public float[] Data { get; } = data;
    }
}
