using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace EdgeAvsr.Runtime.Projector.Kernels;

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
