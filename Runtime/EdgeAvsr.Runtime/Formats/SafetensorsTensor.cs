using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace EdgeAvsr.Runtime.Formats;

/// <summary>One tensor entry of a safetensors header. Offsets are absolute file positions.</summary>
public sealed record SafetensorsTensor(string Name, TensorDType DType, long[] Shape, long FileOffset, long ByteLength)
{
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long d in Shape)
            {
                n *= d;
            }
            return n;
        }
    }

    public string ShapeText => TensorDTypes.FormatShape(Shape);
}
