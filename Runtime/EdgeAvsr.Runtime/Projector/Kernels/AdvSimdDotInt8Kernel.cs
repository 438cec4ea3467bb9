using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace EdgeAvsr.Runtime.Projector.Kernels;

/// <summary>
/// ARM64 AdvSimd with the dot-product extension: a 4-token x 16-channel tile in 16 int32x4 accumulators;
/// each step broadcasts four int8 of a token and runs SDOT against four channel quads.
/// </summary>
public sealed class AdvSimdDotInt8Kernel<TLanes> : Int8GemmKernel where TLanes : struct, ISignedDotLanes
{
    private const int TileRows = 4;

    public override string Name => "advsimd-dot";

    public override bool IsNative => TLanes.IsNative;

    public override bool IsEmulated => !TLanes.IsNative;

    public override PackedInt8Matrix Pack(ReadOnlySpan<sbyte> weights, int rows, int columns) =>
        new Dot4Packed(weights, rows, columns, offsetActivations: false);

    public override PackedInt8Activations CreateActivations() => new Dot4Activations(offset: false, TileRows);

    public override unsafe void MultiplyColumns(PackedInt8Activations a, PackedInt8Matrix weights, int columnStart, int columnCount, Span<int> acc)
    {
        CheckShapes(a, weights, columnStart, columnCount, acc);
        PanelDriver.Run(a, weights, columnStart, columnCount, acc, &Tile);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Tile(int* a, int stride, int steps, byte* panel, int* tile, bool accumulate)
    {
        int* a0 = a, a1 = a + stride, a2 = a + 2 * stride, a3 = a + 3 * stride;
        sbyte* w = (sbyte*)panel;
        var c00 = PanelDriver.Load128(tile, accumulate); var c01 = PanelDriver.Load128(tile + 4, accumulate);
        var c02 = PanelDriver.Load128(tile + 8, accumulate); var c03 = PanelDriver.Load128(tile + 12, accumulate);
        var c10 = PanelDriver.Load128(tile + 16, accumulate); var c11 = PanelDriver.Load128(tile + 20, accumulate);
        var c12 = PanelDriver.Load128(tile + 24, accumulate); var c13 = PanelDriver.Load128(tile + 28, accumulate);
        var c20 = PanelDriver.Load128(tile + 32, accumulate); var c21 = PanelDriver.Load128(tile + 36, accumulate);
        var c22 = PanelDriver.Load128(tile + 40, accumulate); var c23 = PanelDriver.Load128(tile + 44, accumulate);
        var c30 = PanelDriver.Load128(tile + 48, accumulate); var c31 = PanelDriver.Load128(tile + 52, accumulate);
        var c32 = PanelDriver.Load128(tile + 56, accumulate); var c33 = PanelDriver.Load128(tile + 60, accumulate);
        for (int q = 0; q < steps; q++)
        {
            var w0 = Vector128.Load(w);
            var w1 = Vector128.Load(w + 16);
            var w2 = Vector128.Load(w + 32);
            var w3 = Vector128.Load(w + 48);
            w += 64;
            var b0 = Vector128.Create(a0[q]).AsSByte();
            c00 = TLanes.Dot(c00, b0, w0); c01 = TLanes.Dot(c01, b0, w1); c02 = TLanes.Dot(c02, b0, w2); c03 = TLanes.Dot(c03, b0, w3);
            var b1 = Vector128.Create(a1[q]).AsSByte();
            c10 = TLanes.Dot(c10, b1, w0); c11 = TLanes.Dot(c11, b1, w1); c12 = TLanes.Dot(c12, b1, w2); c13 = TLanes.Dot(c13, b1, w3);
            var b2 = Vector128.Create(a2[q]).AsSByte();
            c20 = TLanes.Dot(c20, b2, w0); c21 = TLanes.Dot(c21, b2, w1); c22 = TLanes.Dot(c22, b2, w2); c23 = TLanes.Dot(c23, b2, w3);
            var b3 = Vector128.Create(a3[q]).AsSByte();
            c30 = TLanes.Dot(c30, b3, w0); c31 = TLanes.Dot(c31, b3, w1); c32 = TLanes.Dot(c32, b3, w2); c33 = TLanes.Dot(c33, b3, w3);
        }
        c00.Store(tile); c01.Store(tile + 4); c02.Store(tile + 8); c03.Store(tile + 12);
        c10.Store(tile + 16); c11.Store(tile + 20); c12.Store(tile + 24); c13.Store(tile + 28);
        c20.Store(tile + 32); c21.Store(tile + 36); c22.Store(tile + 40); c23.Store(tile + 44);
        c30.Store(tile + 48); c31.Store(tile + 52); c32.Store(tile + 56); c33.Store(tile + 60);
    }
}
