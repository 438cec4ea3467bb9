using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace EdgeAvsr.Runtime.Projector.Kernels;

/// <summary>Lane semantics of ARM <c>SDOT Vd.4S, Vn.16B, Vm.16B</c>: each int32 lane adds four int8 x int8 products.</summary>
public interface ISignedDotLanes
{
    static abstract bool IsNative { get; }

    static abstract Vector128<int> Dot(Vector128<int> acc, Vector128<sbyte> a, Vector128<sbyte> b);
}
