using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace EdgeAvsr.Runtime.Formats;

/// <summary>
/// A safetensors file (8-byte little-endian header length, JSON header, raw tensor data), opened
/// with every length field checked against the file before any data is touched. Tensors are read
/// one at a time on demand, so memory stays near the largest tensor read, never the whole file.
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    /// <summary>The format's own cap on the JSON header (100 MB).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private readonly SafeFileHandle _handle;
    private readonly Dictionary<string, SafetensorsTensor> _tensors;

    private SafetensorsFile(string path, SafeFileHandle handle, Dictionary<string, SafetensorsTensor> tensors, Dictionary<string, string> metadata)
    {
        FilePath = path;
        _handle = handle;
        _tensors = tensors;
        Metadata = metadata;
    }

    public string FilePath { get; }

    public IReadOnlyDictionary<string, string> Metadata { get; }

    public IReadOnlyDictionary<string, SafetensorsTensor> Tensors => _tensors;

    public static SafetensorsFile Open(string path)
    {
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EdgeAvsrException($"{path}: cannot open safetensors file: {e.Message}");
        }
        try
        {
            (var tensors, var metadata) = ReadHeader(path, handle);
            return new SafetensorsFile(path, handle, tensors, metadata);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    public bool Contains(string name) => _tensors.ContainsKey(name);

    public SafetensorsTensor Get(string name) =>
        _tensors.TryGetValue(name, out var t) ? t : throw new EdgeAvsrException($"{FilePath}: tensor '{name}' is missing");

    /// <summary>Reads a tensor as float32, widening F16/BF16/F64, after checking its shape.</summary>
    public float[] ReadFloat32(string name, params long[] expectedShape) => ReadFloat32(GetChecked(name, expectedShape));

    /// <summary>
    /// Reads a tensor as float32, widening F16/BF16/F64, in pieces so tensors over 2 GiB (an 8B model's F32
    /// embedding) work too.
    /// </summary>
    public float[] ReadFloat32(SafetensorsTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.DType is not (TensorDType.F32 or TensorDType.F16 or TensorDType.BF16 or TensorDType.F64))
        {
            throw new EdgeAvsrException($"{FilePath}: tensor '{tensor.Name}' has dtype {TensorDTypes.ToSafetensorsName(tensor.DType)}, expected F32, " +
                "F16 or BF16");
        }
        if (tensor.ElementCount > Array.MaxLength)
        {
            throw new EdgeAvsrException($"{FilePath}: tensor '{tensor.Name}' has {tensor.ElementCount} elements, more than one array can hold " +
                $"({Array.MaxLength})");
        }
        int size = TensorDTypes.SizeOf(tensor.DType);
        var result = GC.AllocateUninitializedArray<float>((int)tensor.ElementCount);
        const int piece = 1 << 24;
        var buffer = new byte[(long)Math.Min(piece, result.LongLength) * size];
        for (long i = 0; i < result.LongLength; i += piece)
        {
            int n = (int)Math.Min(piece, result.LongLength - i);
            var raw = buffer.AsSpan(0, n * size);
            ReadRaw(tensor, i * size, raw);
            var dst = result.AsSpan((int)i, n);
            switch (tensor.DType)
            {
                case TensorDType.F32:
                    MemoryMarshal.Cast<byte, float>(raw).CopyTo(dst);
                    break;
                case TensorDType.F16:
                    var halves = MemoryMarshal.Cast<byte, Half>(raw);
                    for (int k = 0; k < n; k++)
                    {
                        dst[k] = (float)halves[k];
                    }
                    break;
                case TensorDType.BF16:
                    var bf = MemoryMarshal.Cast<byte, ushort>(raw);
                    for (int k = 0; k < n; k++)
                    {
                        dst[k] = TensorDTypes.BFloat16ToSingle(bf[k]);
                    }
                    break;
                default:
                    var doubles = MemoryMarshal.Cast<byte, double>(raw);
                    for (int k = 0; k < n; k++)
                    {
                        dst[k] = (float)doubles[k];
                    }
                    break;
            }
        }
        return result;
    }

    /// <summary>Reads an I8 tensor after checking its shape.</summary>
    public sbyte[] ReadInt8(string name, params long[] expectedShape)
    {
        var t = GetChecked(name, expectedShape);
        if (t.DType != TensorDType.I8)
        {
            throw new EdgeAvsrException($"{FilePath}: tensor '{name}' has dtype {TensorDTypes.ToSafetensorsName(t.DType)}, expected I8");
        }
        byte[] raw = ReadRaw(t);
        return MemoryMarshal.Cast<byte, sbyte>(raw).ToArray();
    }

    /// <summary>Reads a tensor's raw little-endian bytes.</summary>
    public byte[] ReadRaw(SafetensorsTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.ByteLength > Array.MaxLength)
        {
            throw new EdgeAvsrException($"{FilePath}: tensor '{tensor.Name}' is {tensor.ByteLength} bytes, larger than one buffer can hold");
        }
        var buffer = new byte[tensor.ByteLength];
        ReadExactly(tensor.FileOffset, buffer);
        return buffer;
    }

    /// <summary>Reads part of a tensor's bytes into <paramref name="destination"/> (for streaming large tensors).</summary>
    public void ReadRaw(SafetensorsTensor tensor, long byteOffset, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (byteOffset < 0 || byteOffset + destination.Length > tensor.ByteLength)
        {
            throw new ArgumentOutOfRangeException(nameof(byteOffset));
        }
        ReadExactly(tensor.FileOffset + byteOffset, destination);
    }

    private void ReadExactly(long offset, Span<byte> destination)
    {
        int done = 0;
        while (done < destination.Length)
        {
            int n = RandomAccess.Read(_handle, destination[done..], offset + done);
            if (n <= 0)
            {
                throw new EdgeAvsrException($"{FilePath}: file ended while reading tensor data at byte {offset + done} (truncated file?)");
            }
            done += n;
        }
    }

    private SafetensorsTensor GetChecked(string name, long[] expectedShape)
    {
        var t = Get(name);
        if (expectedShape.Length > 0 && !t.Shape.AsSpan().SequenceEqual(expectedShape))
        {
            throw new EdgeAvsrException($"{FilePath}: tensor '{name}' has shape {t.ShapeText}, expected {TensorDTypes.FormatShape(expectedShape)}");
        }
        return t;
    }

    private static (Dictionary<string, SafetensorsTensor>, Dictionary<string, string>) ReadHeader(string path, SafeFileHandle handle)
    {
        long fileLength = RandomAccess.GetLength(handle);
        if (fileLength < 8)
        {
            throw new EdgeAvsrException($"{path}: not a safetensors file: {fileLength} bytes, shorter than the 8-byte header length");
        }
        Span<byte> prefix = stackalloc byte[8];
        RandomAccess.Read(handle, prefix, 0);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > MaxHeaderBytes || (long)headerLength > fileLength - 8)
        {
            throw new EdgeAvsrException($"{path}: safetensors header length {headerLength} exceeds the file ({fileLength} bytes) or the 100 MB limit " +
                "(truncated or not a safetensors file?)");
        }
        if (headerLength < 2)
        {
            throw new EdgeAvsrException($"{path}: safetensors header length {headerLength} is too short for a JSON object");
        }
        var header = new byte[headerLength];
        RandomAccess.Read(handle, header, 8);
        long dataStart = 8 + (long)headerLength;
        long dataLength = fileLength - dataStart;
        if (Utf8Check.CheckJson(header, path, "safetensors header", "header byte") is { } notUtf8)
        {
            throw notUtf8;
        }
        try
        {
            return ParseHeader(path, header, dataStart, dataLength);
        }
        catch (JsonException e)
        {
            throw new EdgeAvsrException($"{path}: malformed safetensors JSON header: {e.Message}");
        }
    }

    private static (Dictionary<string, SafetensorsTensor>, Dictionary<string, string>) ParseHeader(string path, byte[] header, long dataStart, long dataLength)
    {
        var tensors = new Dictionary<string, SafetensorsTensor>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var reader = new Utf8JsonReader(header, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 8 });
        Expect(path, ref reader, JsonTokenType.StartObject, "the header");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            Read(path, ref reader);
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                break;
            }
            string key = reader.GetString()!;
            if (!seen.Add(key))
            {
                throw new EdgeAvsrException($"{path}: safetensors header lists '{key}' twice");
            }
            if (key == "__metadata__")
            {
                Expect(path, ref reader, JsonTokenType.StartObject, "__metadata__");
                while (true)
                {
                    Read(path, ref reader);
                    if (reader.TokenType == JsonTokenType.EndObject)
                    {
                        break;
                    }
                    string mk = reader.GetString()!;
                    Expect(path, ref reader, JsonTokenType.String, $"__metadata__ value of '{mk}' (metadata values are strings)");
                    metadata[mk] = reader.GetString()!;
                }
                continue;
            }
            tensors.Add(key, ParseTensor(path, key, ref reader, dataStart, dataLength));
        }
        // Trailing bytes after the object may only be padding spaces.
        if (reader.BytesConsumed < header.Length)
        {
            foreach (byte b in header.AsSpan((int)reader.BytesConsumed))
            {
                if (b != (byte)' ' && b != 0 && b != (byte)'\n')
                {
                    throw new EdgeAvsrException($"{path}: malformed safetensors header: data after the JSON object");
                }
            }
        }
        CheckEveryByteIndexed(path, tensors.Values, dataStart, dataLength);
        return (tensors, metadata);
    }

    private static SafetensorsTensor ParseTensor(string path, string name, ref Utf8JsonReader reader, long dataStart, long dataLength)
    {
        Expect(path, ref reader, JsonTokenType.StartObject, $"tensor '{name}'");
        string? dtypeName = null;
        List<long>? shape = null;
        long begin = -1, end = -1;
        while (true)
        {
            Read(path, ref reader);
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                break;
            }
            string field = reader.GetString()!;
            switch (field)
            {
                case "dtype":
                    Expect(path, ref reader, JsonTokenType.String, $"tensor '{name}' dtype");
                    dtypeName = reader.GetString();
                    break;
                case "shape":
                    Expect(path, ref reader, JsonTokenType.StartArray, $"tensor '{name}' shape");
                    shape = [];
                    while (true)
                    {
                        Read(path, ref reader);
                        if (reader.TokenType == JsonTokenType.EndArray)
                        {
                            break;
                        }
                        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long d) || d < 0)
                        {
                            throw new EdgeAvsrException($"{path}: tensor '{name}' shape holds a value that is not a non-negative integer");
                        }
                        shape.Add(d);
                    }
                    break;
                case "data_offsets":
                    Expect(path, ref reader, JsonTokenType.StartArray, $"tensor '{name}' data_offsets");
                    begin = ReadOffset(path, name, ref reader);
                    end = ReadOffset(path, name, ref reader);
                    Expect(path, ref reader, JsonTokenType.EndArray, $"tensor '{name}' data_offsets (two numbers)");
                    break;
                default:
                    // Unknown fields are ignored; Skip on a property name skips its whole value.
                    reader.Skip();
                    break;
            }
        }
        if (dtypeName is null || shape is null || begin < 0)
        {
            throw new EdgeAvsrException($"{path}: tensor '{name}' lacks dtype, shape or data_offsets");
        }
        if (!TensorDTypes.TryParseSafetensorsName(dtypeName, out var dtype))
        {
            throw new EdgeAvsrException($"{path}: tensor '{name}' has unsupported dtype '{dtypeName}'");
        }
        if (end < begin)
        {
            throw new EdgeAvsrException($"{path}: tensor '{name}' data_offsets [{begin}, {end}] end before they begin");
        }
        if (end > dataLength)
        {
            throw new EdgeAvsrException($"{path}: tensor '{name}' data_offsets end at {end}, past the {dataLength} data bytes in the file (truncated file?)");
        }
        long elements = 1;
        try
        {
            foreach (long d in shape)
            {
                elements = checked(elements * d);
            }
            long expectedBytes = checked(elements * TensorDTypes.SizeOf(dtype));
            if (expectedBytes != end - begin)
            {
                throw new EdgeAvsrException($"{path}: tensor '{name}' shape {TensorDTypes.FormatShape(shape.ToArray())} x {dtypeName} needs " +
                    $"{expectedBytes} bytes, data_offsets give {end - begin}");
            }
        }
        catch (OverflowException)
        {
            throw new EdgeAvsrException($"{path}: tensor '{name}' shape {TensorDTypes.FormatShape(shape.ToArray())} overflows");
        }
        return new SafetensorsTensor(name, dtype, [.. shape], dataStart + begin, end - begin);
    }

    private static long ReadOffset(string path, string name, ref Utf8JsonReader reader)
    {
        Read(path, ref reader);
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long v) || v < 0)
        {
            throw new EdgeAvsrException($"{path}: tensor '{name}' data_offsets must be two non-negative integers that fit in 64 bits");
        }
        return v;
    }

    /// <summary>
    /// The tensors must tile the data section exactly, as the format requires: no overlap, and no byte between two
    /// tensors or after the last that no tensor indexes (a file that hides data there is refused, as the reference reader does).
    /// </summary>
    private static void CheckEveryByteIndexed(string path, IEnumerable<SafetensorsTensor> tensors, long dataStart, long dataLength)
    {
        long expected = 0;
        SafetensorsTensor? previous = null;
        foreach (var t in tensors.OrderBy(t => t.FileOffset).ThenBy(t => t.ByteLength))
        {
            long begin = t.FileOffset - dataStart;
            if (begin < expected)
            {
                throw new EdgeAvsrException($"{path}: tensors '{previous!.Name}' [{previous.FileOffset - dataStart}, {expected}) and " +
                    $"'{t.Name}' [{begin}, {begin + t.ByteLength}) overlap");
            }
            if (begin > expected)
            {
                throw new EdgeAvsrException($"{path}: data bytes [{expected}, {begin}) before tensor '{t.Name}' belong to no tensor (the format " +
                    "forbids unindexed bytes)");
            }
            expected = begin + t.ByteLength;
            previous = t;
        }
        if (expected != dataLength)
        {
            throw new EdgeAvsrException($"{path}: data bytes [{expected}, {dataLength}) after the last tensor belong to no tensor (the format " +
                "forbids unindexed bytes)");
        }
    }

    private static void Read(string path, ref Utf8JsonReader reader)
    {
        if (!reader.Read())
        {
            throw new EdgeAvsrException($"{path}: malformed safetensors header: JSON ends early");
        }
    }

    private static void Expect(string path, ref Utf8JsonReader reader, JsonTokenType type, string what)
    {
        Read(path, ref reader);
        if (reader.TokenType != type)
        {
            throw new EdgeAvsrException($"{path}: malformed safetensors header: {what} should be {type}, found {reader.TokenType}");
        }
    }

    public void Dispose() => _handle.Dispose();
}
