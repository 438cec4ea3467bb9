using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace EdgeAvsr.Runtime.Formats;

/// <summary>Builds a safetensors file in memory and writes it atomically.</summary>
public sealed class SafetensorsWriter
{
    private readonly List<(string Name, TensorDType DType, long[] Shape, byte[] Data)> _tensors = [];
    private readonly Dictionary<string, string> _metadata = new(StringComparer.Ordinal);
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    public void SetMetadata(string key, string value) => _metadata[key] = value;

    public void Add(string name, TensorDType dtype, long[] shape, ReadOnlySpan<byte> data)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long elements = 1;
        foreach (long d in shape)
        {
            elements *= d;
        }
        if (elements * TensorDTypes.SizeOf(dtype) != data.Length)
        {
            throw new ArgumentException($"tensor '{name}': {data.Length} bytes do not match shape {TensorDTypes.FormatShape(shape)}");
        }
        // A header that names a tensor twice is one no reader (ours included) accepts: refuse it here, not after writing it.
        if (!_names.Add(name))
        {
            throw new ArgumentException($"tensor '{name}' is added twice", nameof(name));
        }
        _tensors.Add((name, dtype, shape, data.ToArray()));
    }

    public void AddFloat32(string name, long[] shape, ReadOnlySpan<float> data) => Add(name, TensorDType.F32, shape, MemoryMarshal.AsBytes(data));

    public void AddInt8(string name, long[] shape, ReadOnlySpan<sbyte> data) => Add(name, TensorDType.I8, shape, MemoryMarshal.AsBytes(data));

    public void Write(string path) => AtomicFile.Write(path, WriteTo);

    public void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        WriteHeader(stream, _metadata, _tensors.Select(t => (t.Name, t.DType, t.Shape, (long)t.Data.Length)));
        foreach (var t in _tensors)
        {
            stream.Write(t.Data);
        }
    }

    /// <summary>
    /// The header of a safetensors file: the 8-byte length, the JSON (metadata first, then each tensor's dtype, shape and
    /// data offsets in the order given, back to back) padded with spaces so the data starts 8-byte aligned.
    /// </summary>
    public static void WriteHeader(Stream stream, IReadOnlyDictionary<string, string> metadata, IEnumerable<(string Name, TensorDType DType,
        long[] Shape, long Bytes)> tensors)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(tensors);
        using var json = new MemoryStream();
        using (var w = new Utf8JsonWriter(json))
        {
            w.WriteStartObject();
            if (metadata.Count > 0)
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    w.WriteString(k, v);
                }
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var t in tensors)
            {
                w.WriteStartObject(t.Name);
                w.WriteString("dtype", TensorDTypes.ToSafetensorsName(t.DType));
                w.WriteStartArray("shape");
                foreach (long d in t.Shape)
                {
                    w.WriteNumberValue(d);
                }
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + t.Bytes);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += t.Bytes;
            }
            w.WriteEndObject();
        }
        long headerLength = (json.Length + 7) / 8 * 8;
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)headerLength);
        stream.Write(prefix);
        json.Position = 0;
        json.CopyTo(stream);
        for (long i = json.Length; i < headerLength; i++)
        {
            stream.WriteByte((byte)' ');
        }
    }
}
