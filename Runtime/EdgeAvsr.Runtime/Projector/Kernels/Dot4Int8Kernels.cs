using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace EdgeAvsr.Runtime.Projector.Kernels;

/// <summary>
/// Weights packed for the 4-way dot-product instructions (ARM SDOT, x86 VPDPBUSD):
/// panels of 16 output channels, <c>[panel][k/4][16][4]</c> int8, k zero-padded to a multiple of 4.
/// </summary>
internal sealed class Dot4Packed : PackedInt8Matrix
{
    public const int Panel = 16;

    public Dot4Packed(ReadOnlySpan<sbyte> weights, int rows, int columns) : base(rows, columns)
    {
        QuadCount = (columns + 3) / 4;
        int panels = (rows + Panel - 1) / Panel;
        Data = new sbyte[(long)panels * QuadCount * Panel * 4];
        RowSums = new int[rows];
        for (int row = 0; row < rows; row++)
        {
            int p = row / Panel, c = row % Panel;
            var w = weights.Slice(row * columns, columns);
            int sum = 0;
            for (int col = 0; col < columns; col++)
            {
                Data[(((long)p * QuadCount + (col >> 2)) * Panel + c) * 4 + (col & 3)] = w[col];
                sum += w[col];
            }
            RowSums[row] = sum;
        }
    }

    public sbyte[] Data { get; }

    public int QuadCount { get; }

    /// <summary>Sum of each output channel's weights (the u8 offset correction of VPDPBUSD).</summary>
    public int[] RowSums { get; }

    /// <summary>Rows per register tile of both 4-way dot-product kernels.</summary>
    public const int TileRows = 4;

    /// <summary>
    /// The column-block driver both 4-way kernels share: <paramref name="tile"/> computes a 4-row x 16-channel tile of
    /// int32 sums; the rows and channels asked for are copied out, less <c>128 x</c> the channel's weight sum when the
    /// activations carry VPDPBUSD's +128 offset (<paramref name="undoOffset"/>), which makes the result exact.
    /// </summary>
    public static unsafe void MultiplyColumns(Dot4Activations a, Dot4Packed w, int columnStart, int columnCount, Span<int> acc, delegate*<int*, int, sbyte*, int*, void> tile, bool undoOffset)
    {
        int m = a.Rows, k4 = w.QuadCount;
        Span<int> block = stackalloc int[TileRows * Panel];
        fixed (byte* pa = a.Data)
        fixed (sbyte* pw = w.Data)
        fixed (int* pt = block)
        {
            for (int p = columnStart / Panel; p * Panel < columnStart + columnCount; p++)
            {
                sbyte* wp = pw + (long)p * k4 * Panel * 4;
                int from = Math.Max(columnStart, p * Panel);
                int to = Math.Min(columnStart + columnCount, (p + 1) * Panel);
                for (int i = 0; i < m; i += TileRows)
                {
                    tile((int*)(pa + (long)i * k4 * 4), k4, wp, pt);
                    for (int r = 0; r < Math.Min(TileRows, m - i); r++)
                    {
                        var dst = acc.Slice((i + r) * columnCount, columnCount);
                        for (int c = from; c < to; c++)
                        {
                            // Undo the +128 activation offset exactly: sum (a + 128) w - 128 sum w.
                            dst[c - columnStart] = pt[r * Panel + c - p * Panel] - (undoOffset ? 128 * w.RowSums[c] : 0);
                        }
                    }
                }
            }
        }
    }
}

/// <summary>
/// Activations for the 4-way dot-product kernels: each row padded to a multiple of 4 values, rows padded to a
/// multiple of 4. With <c>offset</c> (VPDPBUSD) every value is stored as <c>a + 128</c> (a XOR 0x80, unsigned)
/// and padding holds the offset zero (128), which meets zero weights.
/// </summary>
internal sealed class Dot4Activations(bool offset) : PackedInt8Activations
{
    public const int RowMultiple = Dot4Packed.TileRows;

    private byte[] _data = [];

    public int QuadCount { get; private set; }

    public int PaddedRows { get; private set; }

    public byte[] Data => _data;

    protected override void OnResize(int rows, int columns)
    {
        QuadCount = (columns + 3) / 4;
        PaddedRows = (rows + RowMultiple - 1) / RowMultiple * RowMultiple;
        long need = (long)PaddedRows * QuadCount * 4;
        if (_data.Length < need)
        {
            _data = new byte[need];
        }
        _data.AsSpan(rows * QuadCount * 4, (PaddedRows - rows) * QuadCount * 4).Fill(offset ? (byte)0x80 : (byte)0);
    }

    protected override void OnSetRow(int row, ReadOnlySpan<sbyte> values)
    {
        var dst = _data.AsSpan(row * QuadCount * 4, QuadCount * 4);
        var src = System.Runtime.InteropServices.MemoryMarshal.AsBytes(values);
        if (offset)
        {
            for (int t = 0; t < src.Length; t++)
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
    public override string Name => "advsimd-dot";

    public override bool IsNative => TLanes.IsNative;

    public override bool IsEmulated => !TLanes.IsNative;

    public override PackedInt8Matrix Pack(ReadOnlySpan<sbyte> weights, int rows, int columns) => new Dot4Packed(weights, rows, columns);

    public override PackedInt8Activations CreateActivations() => new Dot4Activations(offset: false);

    public override unsafe void MultiplyColumns(PackedInt8Activations a, PackedInt8Matrix weights, int columnStart, int columnCount, Span<int> acc)
    {
        CheckShapes(a, weights, columnStart, columnCount, acc);
        Dot4Packed.MultiplyColumns((Dot4Activations)a, (Dot4Packed)weights, columnStart, columnCount, acc, &Tile, undoOffset: false);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Tile(int* a, int k4, sbyte* w, int* tile)
    {
        // Rows are padded to a multiple of 4 (zeros); padded results are discarded by the caller.
        int* a0 = a, a1 = a + k4, a2 = a + 2 * k4, a3 = a + 3 * k4;
        Vector128<int> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector128<int> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector128<int> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector128<int> c30 = default, c31 = default, c32 = default, c33 = default;
        for (int q = 0; q < k4; q++)
        {
            var w0 = Vector128.Load(w);
            var w1 = Vector128.Load(w + 16);
            var w2 = Vector128.Load(w + 32);
            var w3 = Vector128.Load(w + 48);
            w += 64;
            var b = Vector128.Create(a0[q]).AsSByte();
            c00 = TLanes.Dot(c00, b, w0); c01 = TLanes.Dot(c01, b, w1); c02 = TLanes.Dot(c02, b, w2); c03 = TLanes.Dot(c03, b, w3);
            b = Vector128.Create(a1[q]).AsSByte();
            c10 = TLanes.Dot(c10, b, w0); c11 = TLanes.Dot(c11, b, w1); c12 = TLanes.Dot(c12, b, w2); c13 = TLanes.Dot(c13, b, w3);
            b = Vector128.Create(a2[q]).AsSByte();
            c20 = TLanes.Dot(c20, b, w0); c21 = TLanes.Dot(c21, b, w1); c22 = TLanes.Dot(c22, b, w2); c23 = TLanes.Dot(c23, b, w3);
            b = Vector128.Create(a3[q]).AsSByte();
            c30 = TLanes.Dot(c30, b, w0); c31 = TLanes.Dot(c31, b, w1); c32 = TLanes.Dot(c32, b, w2); c33 = TLanes.Dot(c33, b, w3);
        }
        c00.Store(tile); c01.Store(tile + 4); c02.Store(tile + 8); c03.Store(tile + 12);
        c10.Store(tile + 16); c11.Store(tile + 20); c12.Store(tile + 24); c13.Store(tile + 28);
        c20.Store(tile + 32); c21.Store(tile + 36); c22.Store(tile + 40); c23.Store(tile + 44);
        c30.Store(tile + 48); c31.Store(tile + 52); c32.Store(tile + 56); c33.Store(tile + 60);
    }
}

/// <summary>
/// x86 AVX-VNNI: VPDPBUSD takes unsigned activations, so each int8 activation is offset by +128
/// (a XOR 0x80) and the exact correction <c>128 * sum_k w[n, k]</c> is subtracted afterwards.
/// A 4-token x 16-channel tile keeps 8 int32x8 accumulators.
/// </summary>
public sealed class AvxVnniInt8Kernel<TLanes> : Int8GemmKernel where TLanes : struct, IUnsignedSignedDotLanes
{
    public override string Name => "avx-vnni";

    public override bool IsNative => TLanes.IsNative;

    public override bool IsEmulated => !TLanes.IsNative;

    public override PackedInt8Matrix Pack(ReadOnlySpan<sbyte> weights, int rows, int columns) => new Dot4Packed(weights, rows, columns);

    public override PackedInt8Activations CreateActivations() => new Dot4Activations(offset: true);

    public override unsafe void MultiplyColumns(PackedInt8Activations a, PackedInt8Matrix weights, int columnStart, int columnCount, Span<int> acc)
    {
        CheckShapes(a, weights, columnStart, columnCount, acc);
        Dot4Packed.MultiplyColumns((Dot4Activations)a, (Dot4Packed)weights, columnStart, columnCount, acc, &Tile, undoOffset: true);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Tile(int* a, int k4, sbyte* w, int* tile)
    {
        int* a0 = a, a1 = a + k4, a2 = a + 2 * k4, a3 = a + 3 * k4;
        Vector256<int> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<int> c20 = default, c21 = default, c30 = default, c31 = default;
        for (int q = 0; q < k4; q++)
        {
            var w0 = Vector256.Load(w);
            var w1 = Vector256.Load(w + 32);
            w += 64;
            var b = Vector256.Create(a0[q]).AsByte();
            c00 = TLanes.Dot(c00, b, w0); c01 = TLanes.Dot(c01, b, w1);
            b = Vector256.Create(a1[q]).AsByte();
            c10 = TLanes.Dot(c10, b, w0); c11 = TLanes.Dot(c11, b, w1);
            b = Vector256.Create(a2[q]).AsByte();
            c20 = TLanes.Dot(c20, b, w0); c21 = TLanes.Dot(c21, b, w1);
            b = Vector256.Create(a3[q]).AsByte();
            c30 = TLanes.Dot(c30, b, w0); c31 = TLanes.Dot(c31, b, w1);
        }
        c00.Store(tile); c01.Store(tile + 8);
        c10.Store(tile + 16); c11.Store(tile + 24);
        c20.Store(tile + 32); c21.Store(tile + 40);
        c30.Store(tile + 48); c31.Store(tile + 56);
    }
}
