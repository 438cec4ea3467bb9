using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace EdgeAvsr.Runtime.Projector.Kernels;

/// <summary>AVX-VNNI (VEX-encoded VPDPBUSD).</summary>
public readonly struct NativeAvxVnni : IUnsignedSignedDotLanes
{
    public static bool IsNative => AvxVnni.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Dot(Vector256<int> acc, Vector256<byte> a, Vector256<sbyte> b) => AvxVnni.MultiplyWideningAndAdd(acc, a, b);
}
