using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace EdgeAvsr.Runtime.Projector.Kernels;

/// <summary>Lane semantics of x86 <c>VPDPBUSD ymm</c>: each int32 lane adds four uint8 x int8 products, no saturation.</summary>
public interface IUnsignedSignedDotLanes
{
    static abstract bool IsNative { get; }

    static abstract Vector256<int> Dot(Vector256<int> acc, Vector256<byte> a, Vector256<sbyte> b);
}
