using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeAvsr.Runtime.Projector.Kernels;

/// <summary>Shared tile loop: panels of 16 channels outside, tiles of 4 tokens inside (the panel stays in cache).</summary>
public abstract class PanelFp32Kernel : Fp32GemmKernel
{
    private const int TileRows = 4;
    private const int KBlock = 256;

    public override PackedFloatMatrix Pack(ReadOnlySpan<float> weights, int rows, int columns) => new PanelPackedFloat(weights, rows, columns);

    public override unsafe void Multiply(ReadOnlySpan<float> a, int m, PackedFloatMatrix weights, Span<float> output)
    {
        CheckShapes(a, m, weights, output);
        if (!IsNative)
        {
            throw new PlatformNotSupportedException($"the {Name} fp32 kernel needs instructions this CPU lacks");
        }
        var w = (PanelPackedFloat)weights;
        int n = w.Rows, k = w.Columns;
        Span<float> tile = stackalloc float[TileRows * PanelPackedFloat.Panel];
        fixed (float* pa = a)
        fixed (float* pw = w.Data)
        fixed (float* pt = tile)
        {
            int panels = (n + PanelPackedFloat.Panel - 1) / PanelPackedFloat.Panel;
            for (int p = 0; p < panels; p++)
            {
                float* wp = pw + (long)p * k * PanelPackedFloat.Panel;
                int c0 = p * PanelPackedFloat.Panel;
                int valid = Math.Min(PanelPackedFloat.Panel, n - c0);
                // K blocks keep the weight sub-panel (16 KiB) in L1 across the row tiles.
                for (int kb = 0; kb < k; kb += KBlock)
                {
                    int kLen = Math.Min(KBlock, k - kb);
                    for (int i = 0; i < m; i += TileRows)
                    {
                        int rows = Math.Min(TileRows, m - i);
                        Tile(pa + (long)i * k + kb, k, kLen, rows, wp + (long)kb * PanelPackedFloat.Panel, pt);
                        for (int r = 0; r < rows; r++)
                        {
                            var src = new ReadOnlySpan<float>(pt + r * PanelPackedFloat.Panel, valid);
                            var dst = output.Slice((i + r) * n + c0, valid);
                            if (kb == 0)
                            {
                                src.CopyTo(dst);
                            }
                            else
                            {
                                for (int c = 0; c < valid; c++)
                                {
                                    dst[c] += src[c];
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// Computes a 4 x 16 tile over <paramref name="k"/> reduction steps; token rows are <paramref name="stride"/> apart.
    /// Rows at or past <paramref name="rows"/> repeat row 0 and are discarded.
    /// </summary>
    private protected abstract unsafe void Tile(float* a, int stride, int k, int rows, float* w, float* tile);
}
