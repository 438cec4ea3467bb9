using System.Buffers;
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
    private const int Panel = 16;
    private const int TileRows = 6;
    private const int PairBlock = 256;

    public override string Name => "avx2";

    public override bool IsNative => Avx2.IsSupported;

    public override PackedInt8Matrix Pack(ReadOnlySpan<sbyte> weights, int rows, int columns)
    {
        int k2 = (columns + 1) / 2;
        int panels = (rows + Panel - 1) / Panel;
        var data = new short[(long)panels * k2 * Panel * 2];
        for (int p = 0; p < panels; p++)
        {
            for (int c = 0; c < Panel; c++)
            {
                int row = p * Panel + c;
                if (row >= rows)
                {
                    break;
                }
                var w = weights.Slice(row * columns, columns);
                for (int col = 0; col < columns; col++)
                {
                    data[(((long)p * k2 + (col >> 1)) * Panel + c) * 2 + (col & 1)] = w[col];
                }
            }
        }
        return new Packed(data, rows, columns, k2);
    }

    public override unsafe void Multiply(ReadOnlySpan<sbyte> a, int m, PackedInt8Matrix weights, Span<int> acc)
    {
        CheckShapes(a, m, weights, acc);
        if (!Avx2.IsSupported)
        {
            throw new PlatformNotSupportedException("AVX2 is not available on this CPU");
        }
        var w = (Packed)weights;
        int n = w.Rows, k = w.Columns, k2 = w.PairCount;
        // Activations widened to int16 once per call, each row padded to an even length.
        short[] a16 = ArrayPool<short>.Shared.Rent(m * k2 * 2);
        try
        {
            for (int i = 0; i < m; i++)
            {
                var src = a.Slice(i * k, k);
                var dst = a16.AsSpan(i * k2 * 2, k2 * 2);
                int t = 0;
                fixed (sbyte* ps = src)
                fixed (short* pd = dst)
                {
                    for (; t + 16 <= k; t += 16)
                    {
                        Avx.Store(pd + t, Avx2.ConvertToVector256Int16(Sse2.LoadVector128(ps + t)));
                    }
                }
                for (; t < k; t++)
                {
                    dst[t] = src[t];
                }
                if ((k & 1) != 0)
                {
                    dst[k] = 0;
                }
            }
            Span<int> tile = stackalloc int[TileRows * Panel];
            fixed (short* pa = a16)
            fixed (short* pw = w.Data)
            fixed (int* pt = tile)
            {
                int panels = (n + Panel - 1) / Panel;
                for (int p = 0; p < panels; p++)
                {
                    short* wp = pw + (long)p * k2 * Panel * 2;
                    int c0 = p * Panel;
                    int valid = Math.Min(Panel, n - c0);
                    // K is cut into blocks so the weight sub-panel (16 KiB) stays in L1 across all row tiles.
                    for (int kb = 0; kb < k2; kb += PairBlock)
                    {
                        int kLen = Math.Min(PairBlock, k2 - kb);
                        bool first = kb == 0;
                        int i = 0;
                        for (; i + TileRows <= m; i += TileRows)
                        {
                            Tile6x16((int*)(pa + (long)i * k2 * 2) + kb, k2, kLen, wp + (long)kb * Panel * 2, pt);
                            for (int r = 0; r < TileRows; r++)
                            {
                                Store(pt + r * Panel, acc.Slice((i + r) * n + c0, valid), first);
                            }
                        }
                        for (; i < m; i++)
                        {
                            Tile1x16((int*)(pa + (long)i * k2 * 2) + kb, kLen, wp + (long)kb * Panel * 2, pt);
                            Store(pt, acc.Slice(i * n + c0, valid), first);
                        }
                    }
                }
            }
        }
        finally
        {
            ArrayPool<short>.Shared.Return(a16);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit]
    private static unsafe void Tile6x16(int* a, int stride, int k2, short* w, int* tile)
    {
        int* a0 = a, a1 = a + stride, a2 = a + 2 * stride, a3 = a + 3 * stride, a4 = a + 4 * stride, a5 = a + 5 * stride;
        Vector256<int> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<int> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
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

    private static unsafe void Store(int* tile, Span<int> destination, bool first)
    {
        var src = new ReadOnlySpan<int>(tile, destination.Length);
        if (first)
        {
            src.CopyTo(destination);
            return;
        }
        for (int c = 0; c < destination.Length; c++)
        {
            destination[c] += src[c];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Tile1x16(int* a, int k2, short* w, int* tile)
    {
        Vector256<int> c0 = default, c1 = default;
        for (int kp = 0; kp < k2; kp++)
        {
            var b = Vector256.Create(a[kp]).AsInt16();
            c0 = Avx2.Add(c0, Avx2.MultiplyAddAdjacent(b, Avx.LoadVector256(w)));
            c1 = Avx2.Add(c1, Avx2.MultiplyAddAdjacent(b, Avx.LoadVector256(w + 16)));
            w += 32;
        }
        Avx.Store(tile, c0);
        Avx.Store(tile + 8, c1);
    }

    private sealed class Packed(short[] data, int rows, int columns, int pairCount) : PackedInt8Matrix(rows, columns)
    {
        public short[] Data { get; } = data;

        public int PairCount { get; } = pairCount;
    }
}
