using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace EdgeAvsr.Runtime.Formats;

/// <summary>A dense little-endian array read from or written to a NumPy .npy file.</summary>
public sealed class NpyArray<T> where T : unmanaged
{
    public NpyArray(T[] data, long[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        long n = 1;
        foreach (long d in shape)
        {
            n *= d;
        }
        if (n != data.Length)
        {
            throw new ArgumentException($"{data.Length} elements do not fill shape {TensorDTypes.FormatShape(shape)}");
        }
        Data = data;
        Shape = shape;
    }

    public T[] Data { get; }

    public long[] Shape { get; }
}
