using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeAvsr.Runtime.Projector.Kernels;

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
