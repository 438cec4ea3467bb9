using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace EdgeAvsr.Runtime.Projector.Kernels;

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
