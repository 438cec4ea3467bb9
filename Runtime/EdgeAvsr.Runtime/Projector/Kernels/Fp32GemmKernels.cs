using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeAvsr.Runtime.Projector.Kernels;

/// <summary>A float32 <c>W[n, k]</c> repacked for one kernel variant.</summary>
public abstract class PackedFloatMatrix(int rows, int columns)
{
    public int Rows { get; } = rows;

    public int Columns { get; } = columns;
}

/// <summary>
/// The fp32 GEMM of the projector: <c>out[m, n] = sum_k a[m, k] * w[n, k]</c>, the reference path.
/// Variants differ only in summation order (fused multiply-adds), so they agree with an fp64
/// reference to float rounding, not bit for bit.
/// </summary>
public abstract class Fp32GemmKernel
{
    public abstract string Name { get; }

    public abstract bool IsNative { get; }

    public abstract PackedFloatMatrix Pack(ReadOnlySpan<float> weights, int rows, int columns);

    public abstract void Multiply(ReadOnlySpan<float> a, int m, PackedFloatMatrix weights, Span<float> output);

    protected static void CheckShapes(ReadOnlySpan<float> a, int m, PackedFloatMatrix w, Span<float> output)
    {
        ArgumentNullException.ThrowIfNull(w);
        if (a.Length < (long)m * w.Columns || output.Length < (long)m * w.Rows)
        {
            throw new ArgumentException($"fp32 GEMM buffers too small for [{m} x {w.Columns}] x [{w.Rows} x {w.Columns}]^T");
        }
    }

    public override string ToString() => Name;
}

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

/// <summary>x86 AVX2 + FMA3: 4 tokens x 16 channels in 8 ymm accumulators.</summary>
public sealed class Avx2FmaFp32Kernel : PanelFp32Kernel
{
    public override string Name => "avx2-fma";

    public override bool IsNative => Avx2.IsSupported && Fma.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private protected override unsafe void Tile(float* a, int stride, int k, int rows, float* w, float* tile)
    {
        float* a0 = a, a1 = rows > 1 ? a + stride : a, a2 = rows > 2 ? a + 2 * stride : a, a3 = rows > 3 ? a + 3 * stride : a;
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
        for (int t = 0; t < k; t++)
        {
            var w0 = Avx.LoadVector256(w);
            var w1 = Avx.LoadVector256(w + 8);
            w += 16;
            var b = Vector256.Create(a0[t]);
            c00 = Fma.MultiplyAdd(b, w0, c00);
            c01 = Fma.MultiplyAdd(b, w1, c01);
            b = Vector256.Create(a1[t]);
            c10 = Fma.MultiplyAdd(b, w0, c10);
            c11 = Fma.MultiplyAdd(b, w1, c11);
            b = Vector256.Create(a2[t]);
            c20 = Fma.MultiplyAdd(b, w0, c20);
            c21 = Fma.MultiplyAdd(b, w1, c21);
            b = Vector256.Create(a3[t]);
            c30 = Fma.MultiplyAdd(b, w0, c30);
            c31 = Fma.MultiplyAdd(b, w1, c31);
        }
        Avx.Store(tile, c00);
        Avx.Store(tile + 8, c01);
        Avx.Store(tile + 16, c10);
        Avx.Store(tile + 24, c11);
        Avx.Store(tile + 32, c20);
        Avx.Store(tile + 40, c21);
        Avx.Store(tile + 48, c30);
        Avx.Store(tile + 56, c31);
    }
}

/// <summary>
/// Portable 128-bit vectors with fused multiply-add: the ARM64 AdvSimd path (FMLA), and also
/// runnable on x86, which is how it is tested here.
/// </summary>
public sealed class Vector128Fp32Kernel : PanelFp32Kernel
{
    public override string Name => "vector128";

    public override bool IsNative => Vector128.IsHardwareAccelerated;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private protected override unsafe void Tile(float* a, int stride, int k, int rows, float* w, float* tile)
    {
        float* a0 = a, a1 = rows > 1 ? a + stride : a, a2 = rows > 2 ? a + 2 * stride : a, a3 = rows > 3 ? a + 3 * stride : a;
        Vector128<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector128<float> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector128<float> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector128<float> c30 = default, c31 = default, c32 = default, c33 = default;
        for (int t = 0; t < k; t++)
        {
            var w0 = Vector128.Load(w);
            var w1 = Vector128.Load(w + 4);
            var w2 = Vector128.Load(w + 8);
            var w3 = Vector128.Load(w + 12);
            w += 16;
            var b = Vector128.Create(a0[t]);
            c00 = Vector128.FusedMultiplyAdd(b, w0, c00); c01 = Vector128.FusedMultiplyAdd(b, w1, c01);
            c02 = Vector128.FusedMultiplyAdd(b, w2, c02); c03 = Vector128.FusedMultiplyAdd(b, w3, c03);
            b = Vector128.Create(a1[t]);
            c10 = Vector128.FusedMultiplyAdd(b, w0, c10); c11 = Vector128.FusedMultiplyAdd(b, w1, c11);
            c12 = Vector128.FusedMultiplyAdd(b, w2, c12); c13 = Vector128.FusedMultiplyAdd(b, w3, c13);
            b = Vector128.Create(a2[t]);
            c20 = Vector128.FusedMultiplyAdd(b, w0, c20); c21 = Vector128.FusedMultiplyAdd(b, w1, c21);
            c22 = Vector128.FusedMultiplyAdd(b, w2, c22); c23 = Vector128.FusedMultiplyAdd(b, w3, c23);
            b = Vector128.Create(a3[t]);
            c30 = Vector128.FusedMultiplyAdd(b, w0, c30); c31 = Vector128.FusedMultiplyAdd(b, w1, c31);
            c32 = Vector128.FusedMultiplyAdd(b, w2, c32); c33 = Vector128.FusedMultiplyAdd(b, w3, c33);
        }
        c00.Store(tile); c01.Store(tile + 4); c02.Store(tile + 8); c03.Store(tile + 12);
        c10.Store(tile + 16); c11.Store(tile + 20); c12.Store(tile + 24); c13.Store(tile + 28);
        c20.Store(tile + 32); c21.Store(tile + 36); c22.Store(tile + 40); c23.Store(tile + 44);
        c30.Store(tile + 48); c31.Store(tile + 52); c32.Store(tile + 56); c33.Store(tile + 60);
    }
}
