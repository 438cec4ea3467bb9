using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace EdgeAvsr.Runtime.Projector.Kernels;

/// <summary>
/// x86 VPDPBUSD (AVX-VNNI): four int8 products summed into each int32 lane in one instruction, twice the products of
/// <c>vpmaddwd</c> and no separate add. VPDPBUSD takes unsigned activations, so each int8 activation is offset by +128
/// (a XOR 0x80) and the exact correction <c>128 * sum_k w[n, k]</c> is subtracted afterwards. Tiles of 6 tokens x 16
/// channels (12 accumulators, within the 16 VEX registers); where AVX-512VL gives the JIT 32 registers (it then
/// EVEX-encodes the instruction), 6 x 32 channels (24 accumulators), so each broadcast feeds four instructions.
/// </summary>
public sealed class AvxVnniInt8Kernel<TLanes> : Int8GemmKernel where TLanes : struct, IUnsignedSignedDotLanes
{
    private const int TileRows = 6;

    public override string Name => "avx-vnni";

    public override bool IsNative => TLanes.IsNative;

    public override bool IsEmulated => !TLanes.IsNative;

    public override PackedInt8Matrix Pack(ReadOnlySpan<sbyte> weights, int rows, int columns) =>
        new Dot4Packed(weights, rows, columns, offsetActivations: true);

    public override PackedInt8Activations CreateActivations() => new Dot4Activations(offset: true, TileRows);

    public override unsafe void MultiplyColumns(PackedInt8Activations a, PackedInt8Matrix weights, int columnStart, int columnCount, Span<int> acc)
    {
        CheckShapes(a, weights, columnStart, columnCount, acc);
        // The wide tile spills without the 32 EVEX registers; the emulation runs both so the tests cover both.
        bool wide = Avx512F.VL.IsSupported || !TLanes.IsNative;
        PanelDriver.Run(a, weights, columnStart, columnCount, acc, &Tile6x16, wide ? &Tile6x32 : null);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Tile6x16(int* a, int stride, int steps, byte* panel, int* tile, bool accumulate)
    {
        int* a0 = a, a1 = a + stride, a2 = a + 2 * stride, a3 = a + 3 * stride, a4 = a + 4 * stride, a5 = a + 5 * stride;
        sbyte* w = (sbyte*)panel;
        var c00 = PanelDriver.Load256(tile, accumulate); var c01 = PanelDriver.Load256(tile + 8, accumulate);
        var c10 = PanelDriver.Load256(tile + 16, accumulate); var c11 = PanelDriver.Load256(tile + 24, accumulate);
        var c20 = PanelDriver.Load256(tile + 32, accumulate); var c21 = PanelDriver.Load256(tile + 40, accumulate);
        var c30 = PanelDriver.Load256(tile + 48, accumulate); var c31 = PanelDriver.Load256(tile + 56, accumulate);
        var c40 = PanelDriver.Load256(tile + 64, accumulate); var c41 = PanelDriver.Load256(tile + 72, accumulate);
        var c50 = PanelDriver.Load256(tile + 80, accumulate); var c51 = PanelDriver.Load256(tile + 88, accumulate);
        for (int q = 0; q < steps; q++)
        {
            var w0 = Vector256.Load(w);
            var w1 = Vector256.Load(w + 32);
            w += 64;
            var b0 = Vector256.Create(a0[q]).AsByte();
            c00 = TLanes.Dot(c00, b0, w0); c01 = TLanes.Dot(c01, b0, w1);
            var b1 = Vector256.Create(a1[q]).AsByte();
            c10 = TLanes.Dot(c10, b1, w0); c11 = TLanes.Dot(c11, b1, w1);
            var b2 = Vector256.Create(a2[q]).AsByte();
            c20 = TLanes.Dot(c20, b2, w0); c21 = TLanes.Dot(c21, b2, w1);
            var b3 = Vector256.Create(a3[q]).AsByte();
            c30 = TLanes.Dot(c30, b3, w0); c31 = TLanes.Dot(c31, b3, w1);
            var b4 = Vector256.Create(a4[q]).AsByte();
            c40 = TLanes.Dot(c40, b4, w0); c41 = TLanes.Dot(c41, b4, w1);
            var b5 = Vector256.Create(a5[q]).AsByte();
            c50 = TLanes.Dot(c50, b5, w0); c51 = TLanes.Dot(c51, b5, w1);
        }
        c00.Store(tile); c01.Store(tile + 8);
        c10.Store(tile + 16); c11.Store(tile + 24);
        c20.Store(tile + 32); c21.Store(tile + 40);
        c30.Store(tile + 48); c31.Store(tile + 56);
        c40.Store(tile + 64); c41.Store(tile + 72);
        c50.Store(tile + 80); c51.Store(tile + 88);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Tile6x32(int* a, int stride, int steps, byte* panel, long panelStride, int* tile, int tileStride, bool accumulate)
    {
        int* a0 = a, a1 = a + stride, a2 = a + 2 * stride, a3 = a + 3 * stride, a4 = a + 4 * stride, a5 = a + 5 * stride;
        sbyte* wa = (sbyte*)panel, wb = (sbyte*)(panel + panelStride);
        int* ta = tile, tb = tile + tileStride;
        var c00 = PanelDriver.Load256(ta, accumulate); var c01 = PanelDriver.Load256(ta + 8, accumulate);
        var c02 = PanelDriver.Load256(tb, accumulate); var c03 = PanelDriver.Load256(tb + 8, accumulate);
        var c10 = PanelDriver.Load256(ta + 16, accumulate); var c11 = PanelDriver.Load256(ta + 24, accumulate);
        var c12 = PanelDriver.Load256(tb + 16, accumulate); var c13 = PanelDriver.Load256(tb + 24, accumulate);
        var c20 = PanelDriver.Load256(ta + 32, accumulate); var c21 = PanelDriver.Load256(ta + 40, accumulate);
        var c22 = PanelDriver.Load256(tb + 32, accumulate); var c23 = PanelDriver.Load256(tb + 40, accumulate);
        var c30 = PanelDriver.Load256(ta + 48, accumulate); var c31 = PanelDriver.Load256(ta + 56, accumulate);
        var c32 = PanelDriver.Load256(tb + 48, accumulate); var c33 = PanelDriver.Load256(tb + 56, accumulate);
        var c40 = PanelDriver.Load256(ta + 64, accumulate); var c41 = PanelDriver.Load256(ta + 72, accumulate);
        var c42 = PanelDriver.Load256(tb + 64, accumulate); var c43 = PanelDriver.Load256(tb + 72, accumulate);
        var c50 = PanelDriver.Load256(ta + 80, accumulate); var c51 = PanelDriver.Load256(ta + 88, accumulate);
        var c52 = PanelDriver.Load256(tb + 80, accumulate); var c53 = PanelDriver.Load256(tb + 88, accumulate);
        for (int q = 0; q < steps; q++)
        {
            var w0 = Vector256.Load(wa);
            var w1 = Vector256.Load(wa + 32);
            var w2 = Vector256.Load(wb);
            var w3 = Vector256.Load(wb + 32);
            wa += 64;
            wb += 64;
            var b0 = Vector256.Create(a0[q]).AsByte();
            c00 = TLanes.Dot(c00, b0, w0); c01 = TLanes.Dot(c01, b0, w1); c02 = TLanes.Dot(c02, b0, w2); c03 = TLanes.Dot(c03, b0, w3);
            var b1 = Vector256.Create(a1[q]).AsByte();
            c10 = TLanes.Dot(c10, b1, w0); c11 = TLanes.Dot(c11, b1, w1); c12 = TLanes.Dot(c12, b1, w2); c13 = TLanes.Dot(c13, b1, w3);
            var b2 = Vector256.Create(a2[q]).AsByte();
            c20 = TLanes.Dot(c20, b2, w0); c21 = TLanes.Dot(c21, b2, w1); c22 = TLanes.Dot(c22, b2, w2); c23 = TLanes.Dot(c23, b2, w3);
            var b3 = Vector256.Create(a3[q]).AsByte();
            c30 = TLanes.Dot(c30, b3, w0); c31 = TLanes.Dot(c31, b3, w1); c32 = TLanes.Dot(c32, b3, w2); c33 = TLanes.Dot(c33, b3, w3);
            var b4 = Vector256.Create(a4[q]).AsByte();
            c40 = TLanes.Dot(c40, b4, w0); c41 = TLanes.Dot(c41, b4, w1); c42 = TLanes.Dot(c42, b4, w2); c43 = TLanes.Dot(c43, b4, w3);
            var b5 = Vector256.Create(a5[q]).AsByte();
            c50 = TLanes.Dot(c50, b5, w0); c51 = TLanes.Dot(c51, b5, w1); c52 = TLanes.Dot(c52, b5, w2); c53 = TLanes.Dot(c53, b5, w3);
        }
        c00.Store(ta); c01.Store(ta + 8); c02.Store(tb); c03.Store(tb + 8);
        c10.Store(ta + 16); c11.Store(ta + 24); c12.Store(tb + 16); c13.Store(tb + 24);
        c20.Store(ta + 32); c21.Store(ta + 40); c22.Store(tb + 32); c23.Store(tb + 40);
        c30.Store(ta + 48); c31.Store(ta + 56); c32.Store(tb + 48); c33.Store(tb + 56);
        c40.Store(ta + 64); c41.Store(ta + 72); c42.Store(tb + 64); c43.Store(tb + 72);
        c50.Store(ta + 80); c51.Store(ta + 88); c52.Store(tb + 80); c53.Store(tb + 88);
    }
}
