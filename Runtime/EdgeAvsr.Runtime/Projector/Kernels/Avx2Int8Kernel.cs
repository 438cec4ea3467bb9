using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeAvsr.Runtime.Projector.Kernels;

/// <summary>
/// x86 AVX2: both operands widened to int16 and multiplied with <c>vpmaddwd</c>, which sums two exact
/// int16 products into each int32 lane. No saturation is possible (unlike <c>vpmaddubsw</c>), so
/// int8 -128 and 127 are exact on both sides. Weights are packed in panels of 16 output channels,
/// <c>[panel][k/2][16][2]</c>; a 6-token x 16-channel tile keeps 12 accumulators in registers and
/// broadcasts one int16 pair of each token per step (outer-product form, no horizontal sums).
/// </summary>
public sealed class Avx2Int8Kernel : Int8GemmKernel
{
    internal const int TileRows = 6;

    public override string Name => "avx2";

    public override bool IsNative => Avx2.IsSupported;

    public override PackedInt8Matrix Pack(ReadOnlySpan<sbyte> weights, int rows, int columns) => new Int16PairPacked(weights, rows, columns);

    public override PackedInt8Activations CreateActivations() => new Int16PairActivations(TileRows);

    public override unsafe void MultiplyColumns(PackedInt8Activations a, PackedInt8Matrix weights, int columnStart, int columnCount, Span<int> acc)
    {
        CheckShapes(a, weights, columnStart, columnCount, acc);
        if (!Avx2.IsSupported)
        {
            throw new PlatformNotSupportedException("AVX2 is not available on this CPU");
        }
        PanelDriver.Run(a, weights, columnStart, columnCount, acc, &Tile6x16);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit]
    internal static unsafe void Tile6x16(int* a, int stride, int k2, byte* panel, int* tile, bool accumulate)
    {
        short* w = (short*)panel;
        int* a0 = a, a1 = a + stride, a2 = a + 2 * stride, a3 = a + 3 * stride, a4 = a + 4 * stride, a5 = a + 5 * stride;
        var c00 = PanelDriver.Load256(tile, accumulate);
        var c01 = PanelDriver.Load256(tile + 8, accumulate);
        var c10 = PanelDriver.Load256(tile + 16, accumulate);
        var c11 = PanelDriver.Load256(tile + 24, accumulate);
        var c20 = PanelDriver.Load256(tile + 32, accumulate);
        var c21 = PanelDriver.Load256(tile + 40, accumulate);
        var c30 = PanelDriver.Load256(tile + 48, accumulate);
        var c31 = PanelDriver.Load256(tile + 56, accumulate);
        var c40 = PanelDriver.Load256(tile + 64, accumulate);
        var c41 = PanelDriver.Load256(tile + 72, accumulate);
        var c50 = PanelDriver.Load256(tile + 80, accumulate);
        var c51 = PanelDriver.Load256(tile + 88, accumulate);
        for (int kp = 0; kp < k2; kp++)
        {
            var w0 = Avx.LoadVector256(w);
            var w1 = Avx.LoadVector256(w + 16);
            w += 32;
            var b = Vector256.Create(a0[kp]).AsInt16();
            c00 = Avx2.Add(c00, Avx2.MultiplyAddAdjacent(b, w0));
            c01 = Avx2.Add(c01, Avx2.MultiplyAddAdjacent(b, w1));
            b = Vector256.Create(a1[kp]).AsInt16();
            c10 = Avx2.Add(c10, Avx2.MultiplyAddAdjacent(b, w0));
            c11 = Avx2.Add(c11, Avx2.MultiplyAddAdjacent(b, w1));
            b = Vector256.Create(a2[kp]).AsInt16();
            c20 = Avx2.Add(c20, Avx2.MultiplyAddAdjacent(b, w0));
            c21 = Avx2.Add(c21, Avx2.MultiplyAddAdjacent(b, w1));
            b = Vector256.Create(a3[kp]).AsInt16();
            c30 = Avx2.Add(c30, Avx2.MultiplyAddAdjacent(b, w0));
            c31 = Avx2.Add(c31, Avx2.MultiplyAddAdjacent(b, w1));
            b = Vector256.Create(a4[kp]).AsInt16();
            c40 = Avx2.Add(c40, Avx2.MultiplyAddAdjacent(b, w0));
            c41 = Avx2.Add(c41, Avx2.MultiplyAddAdjacent(b, w1));
            b = Vector256.Create(a5[kp]).AsInt16();
            c50 = Avx2.Add(c50, Avx2.MultiplyAddAdjacent(b, w0));
            c51 = Avx2.Add(c51, Avx2.MultiplyAddAdjacent(b, w1));
        }
        Avx.Store(tile, c00);
        Avx.Store(tile + 8, c01);
        Avx.Store(tile + 16, c10);
        Avx.Store(tile + 24, c11);
        Avx.Store(tile + 32, c20);
        Avx.Store(tile + 40, c21);
        Avx.Store(tile + 48, c30);
        Avx.Store(tile + 56, c31);
        Avx.Store(tile + 64, c40);
        Avx.Store(tile + 72, c41);
        Avx.Store(tile + 80, c50);
        Avx.Store(tile + 88, c51);
    }
}
