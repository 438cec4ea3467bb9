using System.Globalization;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Runtime.Video;

/// <summary>8-bit grayscale frames, row-major, frame after frame.</summary>
public sealed class GrayFrames
{
    public GrayFrames(byte[] pixels, int count, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        if ((long)count * width * height != pixels.Length)
        {
            throw new ArgumentException($"{pixels.Length} bytes are not {count} frames of {width}x{height}");
        }
        Pixels = pixels;
        Count = count;
        Width = width;
        Height = height;
    }

    public byte[] Pixels { get; }

    public int Count { get; }

    public int Width { get; }

    public int Height { get; }

    public ReadOnlySpan<byte> Frame(int t) => Pixels.AsSpan(t * Width * Height, Width * Height);
}
