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
