using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeAvsr.Runtime.Projector.Kernels;

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
