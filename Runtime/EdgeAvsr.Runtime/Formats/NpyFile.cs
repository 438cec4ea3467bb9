using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace EdgeAvsr.Runtime.Formats;

/// <summary>
/// NumPy .npy (format 1.0, 2.0 and 3.0): magic, version, header length, a Python dict literal
/// (<c>descr</c>, <c>fortran_order</c>, <c>shape</c>), then the data. Lengths are checked against the
/// file before anything is allocated.
/// </summary>
public static class NpyFile
{
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    public static NpyArray<float> ReadFloat32(string path) => Read<float>(path, "<f4", "float32");

    public static NpyArray<int> ReadInt32(string path) => Read<int>(path, "<i4", "int32");

    public static void Write(string path, ReadOnlySpan<float> data, params long[] shape) => Write(path, MemoryMarshal.AsBytes(data), "<f4", shape);

    public static void Write(string path, ReadOnlySpan<int> data, params long[] shape) => Write(path, MemoryMarshal.AsBytes(data), "<i4", shape);

    private static NpyArray<T> Read<T>(string path, string descr, string typeName) where T : unmanaged
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EdgeAvsrException($"{path}: cannot read .npy file: {e.Message}");
        }
        var (fileDescr, fortran, shape, dataOffset) = ParseHeader(path, bytes);
        if (fileDescr != descr && !(descr == "<f4" && fileDescr == "=f4") && !(descr == "<i4" && fileDescr == "=i4"))
        {
            throw new EdgeAvsrException($"{path}: .npy dtype '{fileDescr}', expected {typeName} ('{descr}')");
        }
        if (fortran)
        {
            throw new EdgeAvsrException($"{path}: .npy is in Fortran order; expected C order (np.ascontiguousarray)");
        }
        long count = 1;
        try
        {
            foreach (long d in shape)
            {
                count = checked(count * d);
            }
            long needed = checked(count * Marshal.SizeOf<T>());
            if (needed != bytes.Length - dataOffset)
            {
                throw new EdgeAvsrException($"{path}: .npy shape {TensorDTypes.FormatShape(shape)} needs {needed} data bytes, the file holds " +
                    $"{bytes.Length - dataOffset} (truncated?)");
            }
        }
        catch (OverflowException)
        {
            throw new EdgeAvsrException($"{path}: .npy shape {TensorDTypes.FormatShape(shape)} overflows");
        }
        var data = MemoryMarshal.Cast<byte, T>(bytes.AsSpan(dataOffset)).ToArray();
        return new NpyArray<T>(data, shape);
    }

    private static (string Descr, bool Fortran, long[] Shape, int DataOffset) ParseHeader(string path, byte[] bytes)
    {
        if (bytes.Length < 10 || !bytes.AsSpan(0, 6).SequenceEqual(Magic))
        {
            throw new EdgeAvsrException($"{path}: not a .npy file (magic \\x93NUMPY missing)");
        }
        int major = bytes[6];
        long headerLength;
        int prefix;
        if (major == 1)
        {
            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
            prefix = 10;
        }
        else if (major is 2 or 3)
        {
            if (bytes.Length < 12)
            {
                throw new EdgeAvsrException($"{path}: .npy header is truncated");
            }
            headerLength = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8));
            prefix = 12;
        }
        else
        {
            throw new EdgeAvsrException($"{path}: .npy format version {major} is not supported (1, 2 or 3)");
        }
        if (headerLength > bytes.Length - prefix)
        {
            throw new EdgeAvsrException($"{path}: .npy header length {headerLength} exceeds the file ({bytes.Length} bytes)");
        }
        string header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(bytes, prefix, (int)headerLength);
        // The header is one dict literal, padded with spaces and ended by a newline; the keys are only looked for inside it.
        string dict = header.TrimEnd(' ', '\n', '\r', '\t', '\0').TrimStart(' ');
        if (!dict.StartsWith('{'))
        {
            throw new EdgeAvsrException($"{path}: .npy header is not a dict literal ('{Excerpt(dict)}')");
        }
        if (!dict.EndsWith('}'))
        {
            throw new EdgeAvsrException($"{path}: .npy header dict is not closed (no '}}' before the data; truncated or not a .npy file?)");
        }
        header = dict;
        string descr = DictValue(path, header, "descr");
        string fortranText = DictValue(path, header, "fortran_order");
        string shapeText = DictValue(path, header, "shape");
        descr = descr.Trim('\'', '"');
        if (descr.Length == 3 && descr[0] == '|')
        {
            descr = "<" + descr[1..];
        }
        bool fortran = fortranText switch
        {
            "True" => true,
            "False" => false,
            _ => throw new EdgeAvsrException($"{path}: .npy fortran_order '{fortranText}' is not True or False"),
        };
        if (!shapeText.StartsWith('(') || !shapeText.EndsWith(')'))
        {
            throw new EdgeAvsrException($"{path}: .npy shape '{shapeText}' is not a tuple");
        }
        var dims = new List<long>();
        foreach (string part in shapeText[1..^1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!long.TryParse(part.TrimEnd('L'), NumberStyles.None, CultureInfo.InvariantCulture, out long d))
            {
                throw new EdgeAvsrException($"{path}: .npy shape '{shapeText}' holds '{part}', not a non-negative integer");
            }
            dims.Add(d);
        }
        return (descr, fortran, dims.ToArray(), prefix + (int)headerLength);
    }

    private static string Excerpt(string text) => text.Length > 40 ? text[..40] + "..." : text;

    // The header is a Python dict literal; the three keys numpy writes are found by name.
    private static string DictValue(string path, string header, string key)
    {
        int k = header.IndexOf($"'{key}'", StringComparison.Ordinal);
        if (k < 0)
        {
            throw new EdgeAvsrException($"{path}: .npy header lacks '{key}'");
        }
        int colon = header.IndexOf(':', k);
        if (colon < 0)
        {
            throw new EdgeAvsrException($"{path}: .npy header is malformed near '{key}'");
        }
        int start = colon + 1;
        while (start < header.Length && header[start] == ' ')
        {
            start++;
        }
        int end;
        if (start < header.Length && header[start] == '(')
        {
            end = header.IndexOf(')', start);
            if (end < 0)
            {
                throw new EdgeAvsrException($"{path}: .npy header is malformed near '{key}'");
            }
            end++;
        }
        else
        {
            end = header.IndexOfAny([',', '}'], start);
            if (end < 0)
            {
                throw new EdgeAvsrException($"{path}: .npy header is malformed near '{key}'");
            }
        }
        return header[start..end].Trim();
    }

    private static void Write(string path, ReadOnlySpan<byte> data, string descr, long[] shape)
    {
        string shapeText = shape.Length == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape) + ")";
        string dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shapeText}, }}";
        // Version 1.0: total header (10-byte prefix + dict + newline) padded to a multiple of 64.
        int total = (10 + dict.Length + 1 + 63) / 64 * 64;
        string padded = dict.PadRight(total - 10 - 1) + "\n";
        byte[] header = new byte[total];
        Magic.CopyTo(header);
        header[6] = 1;
        header[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(8), (ushort)(total - 10));
        Encoding.Latin1.GetBytes(padded, header.AsSpan(10));
        byte[] payload = data.ToArray();
        AtomicFile.Write(path, s =>
        {
            s.Write(header);
            s.Write(payload);
        });
    }
}
