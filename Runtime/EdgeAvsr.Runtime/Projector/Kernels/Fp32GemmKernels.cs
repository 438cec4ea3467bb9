using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeAvsr.Runtime.Projector.Kernels;

/// <summary>Weights in panels of 16 output channels, <c>[panel][k][16]</c>, zero-padded.</summary>
internal sealed class PanelPackedFloat : PackedFloatMatrix
{
    public const int Panel = 16;

    public PanelPackedFloat(ReadOnlySpan<float> weights, int rows, int columns) : base(rows, columns)
    {
        int panels = (rows + Panel - 1) / Panel;
        Data = new float[(long)panels * columns * Panel];
        for (int row = 0; row < rows; row++)
        {
            int p = row / Panel, c = row % Panel;
            var w = weights.Slice(row * columns, columns);
            for (int col = 0; col < columns; col++)
            {
                Data[((long)p * columns + col) * Panel + c] = w[col];
            }
        }
    }

    public float[] Data { get; }
}
