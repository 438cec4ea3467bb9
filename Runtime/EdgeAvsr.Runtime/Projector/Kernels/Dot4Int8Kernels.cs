using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace EdgeAvsr.Runtime.Projector.Kernels;

/// <summary>
/// Weights packed for the 4-way dot-product instructions (ARM SDOT, x86 VPDPBUSD):
/// panels of 16 output channels, <c>[panel][k/4][16][4]</c> int8, k zero-padded to a multiple of 4.
/// </summary>
internal sealed class Dot4Packed : StepPanelMatrix
{
    private readonly int[]? _correction;

    // offsetActivations: VPDPBUSD's activations carry a +128 offset, so each channel's sum exceeds the true one by
    // 128 x the channel's weight sum, which the driver subtracts exactly.
    public Dot4Packed(ReadOnlySpan<sbyte> weights, int rows, int columns, bool offsetActivations) : base(rows, columns, (columns + 3) / 4)
    {
        Data = new sbyte[(long)PanelCount * StepCount * Panel * 4];
        _correction = offsetActivations ? new int[rows] : null;
        for (int row = 0; row < rows; row++)
        {
            int p = row / Panel, c = row % Panel;
            var w = weights.Slice(row * columns, columns);
            int sum = 0;
            for (int col = 0; col < columns; col++)
            {
                Data[(((long)p * StepCount + (col >> 2)) * Panel + c) * 4 + (col & 3)] = w[col];
                sum += w[col];
            }
            if (_correction is not null)
            {
                _correction[row] = 128 * sum;
            }
        }
    }

    private sbyte[] Data { get; }

    public override Span<byte> Bytes => MemoryMarshal.AsBytes(Data.AsSpan());

    public override int[]? ChannelCorrection => _correction;
}

/// <summary>
/// Activations for the 4-way dot-product kernels: each row padded to a multiple of 4 values, rows padded to a
/// multiple of the tile height. With <c>offset</c> (VPDPBUSD) every value is stored as <c>a + 128</c> (a XOR 0x80,
/// unsigned) and padding holds the offset zero (128), which meets zero weights.
/// </summary>
internal sealed class Dot4Activations(bool offset, int rowMultiple) : StepActivations(rowMultiple)
{
    private byte[] _data = [];

    public override Span<byte> Bytes => _data;

    protected override void OnResize(int rows, int columns)
    {
        StepCount = (columns + 3) / 4;
        PaddedRows = (rows + RowMultiple - 1) / RowMultiple * RowMultiple;
        long need = (long)PaddedRows * StepCount * 4;
        if (_data.Length < need)
        {
            _data = new byte[need];
        }
        _data.AsSpan(rows * StepCount * 4, (PaddedRows - rows) * StepCount * 4).Fill(offset ? (byte)0x80 : (byte)0);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void OnSetRow(int row, ReadOnlySpan<sbyte> values)
    {
        var dst = _data.AsSpan(row * StepCount * 4, StepCount * 4);
        var src = MemoryMarshal.AsBytes(values);
        if (offset)
        {
            int t = 0;
            var bias = Vector128.Create((byte)0x80);
            for (; t + 16 <= src.Length; t += 16)
            {
                (Vector128.Create(src.Slice(t, 16)) ^ bias).CopyTo(dst.Slice(t, 16));
            }
            for (; t < src.Length; t++)
            {
                dst[t] = (byte)(src[t] ^ 0x80);
            }
            dst[src.Length..].Fill(0x80);
        }
        else
        {
            src.CopyTo(dst);
            dst[src.Length..].Clear();
        }
    }
}

/// <summary>Lane semantics of ARM <c>SDOT Vd.4S, Vn.16B, Vm.16B</c>: each int32 lane adds four int8 x int8 products.</summary>
public interface ISignedDotLanes
{
    static abstract bool IsNative { get; }

    static abstract Vector128<int> Dot(Vector128<int> acc, Vector128<sbyte> a, Vector128<sbyte> b);
}

/// <summary>The ARMv8.2 dot-product instruction (Jetson Orin's Cortex-A78AE).</summary>
public readonly struct NativeSdot : ISignedDotLanes
{
    public static bool IsNative => Dp.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Dot(Vector128<int> acc, Vector128<sbyte> a, Vector128<sbyte> b) => Dp.DotProduct(acc, a, b);
}

/// <summary>A managed model of SDOT's exact lane arithmetic, so the kernel around it is tested on any CPU.</summary>
public readonly struct EmulatedSdot : ISignedDotLanes
{
    public static bool IsNative => false;

    public static Vector128<int> Dot(Vector128<int> acc, Vector128<sbyte> a, Vector128<sbyte> b)
    {
        Span<int> r = stackalloc int[4];
        for (int lane = 0; lane < 4; lane++)
        {
            int s = acc.GetElement(lane);
            for (int j = 0; j < 4; j++)
            {
                s += a.GetElement(lane * 4 + j) * b.GetElement(lane * 4 + j);
            }
            r[lane] = s;
        }
        return Vector128.Create(r[0], r[1], r[2], r[3]);
    }
}

/// <summary>Lane semantics of x86 <c>VPDPBUSD ymm</c>: each int32 lane adds four uint8 x int8 products, no saturation.</summary>
public interface IUnsignedSignedDotLanes
{
    static abstract bool IsNative { get; }

    static abstract Vector256<int> Dot(Vector256<int> acc, Vector256<byte> a, Vector256<sbyte> b);
}

/// <summary>AVX-VNNI (VEX-encoded VPDPBUSD).</summary>
public readonly struct NativeAvxVnni : IUnsignedSignedDotLanes
{
    public static bool IsNative => AvxVnni.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Dot(Vector256<int> acc, Vector256<byte> a, Vector256<sbyte> b) => AvxVnni.MultiplyWideningAndAdd(acc, a, b);
}

/// <summary>A managed model of VPDPBUSD's exact lane arithmetic.</summary>
public readonly struct EmulatedAvxVnni : IUnsignedSignedDotLanes
{
    public static bool IsNative => false;

    public static Vector256<int> Dot(Vector256<int> acc, Vector256<byte> a, Vector256<sbyte> b)
    {
        Span<int> r = stackalloc int[8];
        for (int lane = 0; lane < 8; lane++)
        {
            int s = acc.GetElement(lane);
            for (int j = 0; j < 4; j++)
            {
                s += a.GetElement(lane * 4 + j) * b.GetElement(lane * 4 + j);
            }
            r[lane] = s;
        }
        return Vector256.Create(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
    }
}

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
