using System.Buffers.Binary;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace EdgeAvsr.Runtime.Formats.Gguf;

/// <summary>
/// A GGUF v2/v3 file opened with every count and length checked against the file size before it is
/// used, so a corrupt or hostile file gives an <see cref="EdgeAvsrException"/> naming the file and the
/// field, never an out-of-memory or a native abort. Tensor data is read on demand.
/// </summary>
public sealed class GgufFile : IDisposable
{
    /// <summary>Upper bound on a single string (keys, token texts, chat templates).</summary>
    public const long MaxStringBytes = 64L << 20;

    /// <summary>Upper bound on the tensor count (a 70B Llama has under 1,000) and on the metadata entries.</summary>
    public const long MaxTensors = 1 << 20;

    /// <summary>Upper bound on the metadata entries (keys; an array is one entry).</summary>
    public const long MaxMetadataEntries = 1 << 20;

    private readonly SafeFileHandle _handle;
    private readonly Dictionary<string, GgufValue> _byKey;
    private readonly Dictionary<string, GgufTensorInfo> _byName;

    private GgufFile(string path, SafeFileHandle handle, uint version, List<KeyValuePair<string, GgufValue>> metadata, Dictionary<string, GgufValue> byKey,
        List<GgufTensorInfo> tensors, Dictionary<string, GgufTensorInfo> byName, uint alignment, long dataOffset, long fileLength)
    {
        FilePath = path;
        _handle = handle;
        Version = version;
        Metadata = metadata;
        Tensors = tensors;
        Alignment = alignment;
        DataOffset = dataOffset;
        FileLength = fileLength;
        _byKey = byKey;
        _byName = byName;
    }

    public string FilePath { get; }

    public uint Version { get; }

    /// <summary>Key/value pairs in file order.</summary>
    public IReadOnlyList<KeyValuePair<string, GgufValue>> Metadata { get; }

    /// <summary>Tensor infos in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }

    public uint Alignment { get; }

    /// <summary>Absolute file position of the data section.</summary>
    public long DataOffset { get; }

    public long FileLength { get; }

    public bool TryGet(string key, out GgufValue value) => _byKey.TryGetValue(key, out value!);

    public GgufValue? Find(string key) => _byKey.GetValueOrDefault(key);

    public GgufTensorInfo? FindTensor(string name) => _byName.GetValueOrDefault(name);

    public static GgufFile Open(string path)
    {
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EdgeAvsrException($"{path}: cannot open GGUF file: {e.Message}");
        }
        try
        {
            // The header is read through the handle that then stays open for tensor reads.
            return Parse(path, handle);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Reads a tensor's bytes (or part of them) into <paramref name="destination"/>.</summary>
    public void ReadTensor(GgufTensorInfo tensor, long byteOffset, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (byteOffset < 0 || byteOffset + destination.Length > tensor.ByteSize)
        {
            throw new ArgumentOutOfRangeException(nameof(byteOffset));
        }
        long position = DataOffset + tensor.Offset + byteOffset;
        int done = 0;
        while (done < destination.Length)
        {
            int n = RandomAccess.Read(_handle, destination[done..], position + done);
            if (n <= 0)
            {
                throw new EdgeAvsrException($"{FilePath}: file ended while reading tensor '{tensor.Name}' (truncated file?)");
            }
            done += n;
        }
    }

    public byte[] ReadTensor(GgufTensorInfo tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.ByteSize > Array.MaxLength)
        {
            throw new EdgeAvsrException($"{FilePath}: tensor '{tensor.Name}' is {tensor.ByteSize} bytes, larger than one buffer can hold");
        }
        var buffer = new byte[tensor.ByteSize];
        ReadTensor(tensor, 0, buffer);
        return buffer;
    }

    public void Dispose() => _handle.Dispose();

    private static GgufFile Parse(string path, SafeFileHandle handle)
    {
        long length = RandomAccess.GetLength(handle);
        var r = new Reader(path, handle, length);
        if (length < 24)
        {
            throw new EdgeAvsrException($"{path}: not a GGUF file: {length} bytes, shorter than the 24-byte header");
        }
        Span<byte> magic = stackalloc byte[4];
        r.Bytes(magic);
        if (!magic.SequenceEqual("GGUF"u8))
        {
            throw new EdgeAvsrException($"{path}: not a GGUF file (magic {Convert.ToHexString(magic)}, expected 'GGUF')");
        }
        uint version = r.U32();
        if (version is not (2 or 3))
        {
            throw new EdgeAvsrException($"{path}: GGUF version {version} is not supported (expected 3)");
        }
        long nTensors = r.I64();
        long nKv = r.I64();
        // Each KV needs at least 8 (key length) + 4 (type) + 1 bytes; each tensor info at least 8 + 4 + 8 + 4 + 8.
        if (nKv < 0 || nKv > r.Remaining / 13 || nKv > MaxMetadataEntries)
        {
            throw new EdgeAvsrException($"{path}: GGUF header claims {nKv} metadata entries, more than the file ({length} bytes) can hold or the limit " +
                $"of {MaxMetadataEntries} (truncated or corrupt file?)");
        }
        if (nTensors < 0 || nTensors > r.Remaining / 32 || nTensors > MaxTensors)
        {
            throw new EdgeAvsrException($"{path}: GGUF header claims {nTensors} tensors, more than the file ({length} bytes) can hold or the limit of " +
                $"{MaxTensors} (truncated or corrupt file?)");
        }
        var metadata = new List<KeyValuePair<string, GgufValue>>((int)nKv);
        var byKey = new Dictionary<string, GgufValue>(StringComparer.Ordinal);
        for (long i = 0; i < nKv; i++)
        {
            string key = r.String($"metadata key #{i}");
            if (key.Length == 0 || byKey.ContainsKey(key))
            {
                throw new EdgeAvsrException($"{path}: metadata key #{i} '{key}' is empty or duplicated");
            }
            int type = r.I32();
            var value = ReadValue(r, key, type);
            byKey.Add(key, value);
            metadata.Add(new(key, value));
        }
        uint alignment = GgufLayout.DefaultAlignment;
        if (byKey.TryGetValue("general.alignment", out var alignValue))
        {
            if (alignValue.Type != GgufValueType.UInt32
                || (uint)alignValue.Value is 0 or > (1u << 30)
                || ((uint)alignValue.Value & ((uint)alignValue.Value - 1)) != 0)
            {
                throw new EdgeAvsrException($"{path}: general.alignment must be a uint32 power of two, found {alignValue.Describe()} {alignValue}");
            }
            alignment = (uint)alignValue.Value;
        }
        var tensors = new List<GgufTensorInfo>((int)nTensors);
        var byName = new Dictionary<string, GgufTensorInfo>(StringComparer.Ordinal);
        long expectedOffset = 0;
        for (long i = 0; i < nTensors; i++)
        {
            string name = r.String($"tensor name #{i}");
            if (Encoding.UTF8.GetByteCount(name) > GgufLayout.MaxTensorNameBytes || name.Length == 0)
            {
                throw new EdgeAvsrException($"{path}: tensor #{i} name '{Truncate(name)}' is empty or longer than {GgufLayout.MaxTensorNameBytes} bytes");
            }
            if (byName.ContainsKey(name))
            {
                throw new EdgeAvsrException($"{path}: tensor '{name}' appears twice");
            }
            uint nDims = r.U32();
            if (nDims is < 1 or > 4)
            {
                throw new EdgeAvsrException($"{path}: tensor '{name}' has {nDims} dimensions, expected 1 to 4");
            }
            var ne = new long[nDims];
            long elements = 1;
            for (int d = 0; d < nDims; d++)
            {
                ne[d] = r.I64();
                if (ne[d] < 0)
                {
                    throw new EdgeAvsrException($"{path}: tensor '{name}' dimension {d} is negative ({ne[d]})");
                }
                if (ne[d] != 0 && elements > long.MaxValue / ne[d])
                {
                    throw new EdgeAvsrException($"{path}: tensor '{name}' dimensions {TensorDTypes.FormatShape(ne)} overflow");
                }
                elements *= ne[d];
            }
            int type = r.I32();
            if (!GgmlTypes.TryGetTraits(type, out int blockSize, out _))
            {
                throw new EdgeAvsrException($"{path}: tensor '{name}' has ggml type {type}, which EdgeAvsr does not support");
            }
            if (ne[0] % blockSize != 0)
            {
                throw new EdgeAvsrException($"{path}: tensor '{name}' row length {ne[0]} is not a multiple of the {GgmlTypes.Name((GgmlType)type)} block " +
                    $"size {blockSize}");
            }
            long size;
            try
            {
                size = GgmlTypes.TensorSize((GgmlType)type, ne);
            }
            catch (OverflowException)
            {
                throw new EdgeAvsrException($"{path}: tensor '{name}' size overflows");
            }
            ulong offset = r.U64();
            if (offset != (ulong)expectedOffset)
            {
                throw new EdgeAvsrException($"{path}: tensor '{name}' data offset {offset} is not the expected {expectedOffset} (offsets must be contiguous, " +
                    $"in order, aligned to {alignment})");
            }
            var info = new GgufTensorInfo(name, (GgmlType)type, ne, expectedOffset, size);
            tensors.Add(info);
            byName.Add(name, info);
            expectedOffset += GgufLayout.Pad(size, alignment);
            if (expectedOffset < 0)
            {
                throw new EdgeAvsrException($"{path}: tensor data sizes overflow");
            }
        }
        long dataOffset = GgufLayout.Pad(r.Position, alignment);
        // Without tensors there is no data section to check (its padding may run past the end of the file).
        long dataEnd = tensors.Count == 0 ? 0 : dataOffset + tensors[^1].Offset + tensors[^1].ByteSize;
        if (dataEnd > length)
        {
            var last = tensors.First(t => dataOffset + t.Offset + t.ByteSize > length);
            throw new EdgeAvsrException($"{path}: tensor '{last.Name}' data ends at byte {dataOffset + last.Offset + last.ByteSize}, past the end of the " +
                $"file ({length} bytes; truncated file?)");
        }
        return new GgufFile(path, handle, version, metadata, byKey, tensors, byName, alignment, dataOffset, length);
    }

    private static GgufValue ReadValue(Reader r, string key, int type)
    {
        if (type == (int)GgufValueType.Array)
        {
            int elementType = r.I32();
            if (elementType is < 0 or > 12 || elementType == (int)GgufValueType.Array)
            {
                throw new EdgeAvsrException($"{r.Path}: key '{key}' is an array of unsupported type {elementType}");
            }
            ulong count = r.U64();
            var et = (GgufValueType)elementType;
            int size = GgufValue.ScalarSize(et);
            // Strings need at least 8 bytes (their length) each.
            ulong minBytes = (ulong)(size == 0 ? 8 : size);
            if (count > (ulong)r.Remaining / minBytes || count > (ulong)Array.MaxLength)
            {
                throw new EdgeAvsrException($"{r.Path}: key '{key}' claims {count} array elements, more than the rest of the file ({r.Remaining} bytes) can " +
                    "hold (truncated or corrupt file?)");
            }
            int n = (int)count;
            Array array = et switch
            {
                GgufValueType.UInt8 => Fill(new byte[n], r, key, et),
                GgufValueType.Int8 => Fill(new sbyte[n], r, key, et),
                GgufValueType.UInt16 => Fill(new ushort[n], r, key, et),
                GgufValueType.Int16 => Fill(new short[n], r, key, et),
                GgufValueType.UInt32 => Fill(new uint[n], r, key, et),
                GgufValueType.Int32 => Fill(new int[n], r, key, et),
                GgufValueType.Float32 => Fill(new float[n], r, key, et),
                GgufValueType.Bool => Fill(new bool[n], r, key, et),
                GgufValueType.String => Fill(new string[n], r, key, et),
                GgufValueType.UInt64 => Fill(new ulong[n], r, key, et),
                GgufValueType.Int64 => Fill(new long[n], r, key, et),
                _ => Fill(new double[n], r, key, et),
            };
            return GgufValue.FromRaw(GgufValueType.Array, et, array);
        }
        if (type is < 0 or > 12)
        {
            throw new EdgeAvsrException($"{r.Path}: key '{key}' has unknown value type {type}");
        }
        var t = (GgufValueType)type;
        return GgufValue.FromRaw(t, t, ReadScalar(r, key, t));
    }

    private static T[] Fill<T>(T[] array, Reader r, string key, GgufValueType et)
    {
        for (int i = 0; i < array.Length; i++)
        {
            array[i] = (T)ReadScalar(r, key, et);
        }
        return array;
    }

    private static object ReadScalar(Reader r, string key, GgufValueType t) => t switch
    {
        GgufValueType.UInt8 => r.U8(),
        GgufValueType.Int8 => (sbyte)r.U8(),
        GgufValueType.UInt16 => (ushort)r.Fixed(2),
        GgufValueType.Int16 => (short)(ushort)r.Fixed(2),
        GgufValueType.UInt32 => r.U32(),
        GgufValueType.Int32 => r.I32(),
        GgufValueType.Float32 => BitConverter.Int32BitsToSingle(r.I32()),
        GgufValueType.Bool => ReadBool(r, key),
        GgufValueType.String => r.String($"value of '{key}'"),
        GgufValueType.UInt64 => r.U64(),
        GgufValueType.Int64 => r.I64(),
        GgufValueType.Float64 => BitConverter.Int64BitsToDouble(r.I64()),
        _ => throw new EdgeAvsrException($"{r.Path}: key '{key}' has unsupported type {t}"),
    };

    private static bool ReadBool(Reader r, string key)
    {
        byte b = r.U8();
        return b switch
        {
            0 => false,
            1 => true,
            _ => throw new EdgeAvsrException($"{r.Path}: key '{key}' holds bool byte {b}, expected 0 or 1"),
        };
    }

    private static string Truncate(string s) => s.Length > 40 ? s[..40] + "..." : s;

    /// <summary>Sequential little-endian reads through the file handle (buffered) that never go past the file length.</summary>
    private sealed class Reader(string path, SafeFileHandle handle, long length)
    {
        private readonly byte[] _scratch = new byte[8];
        private readonly byte[] _buffer = new byte[1 << 16];
        private int _buffered;
        private int _used;

        public string Path { get; } = path;

        public long Position { get; private set; }

        public long Remaining => length - Position;

        public void Bytes(Span<byte> destination)
        {
            if (destination.Length > Remaining)
            {
                throw new EdgeAvsrException($"{Path}: GGUF metadata runs past the end of the file at byte {Position} (truncated file?)");
            }
            int done = 0;
            while (done < destination.Length)
            {
                if (_used == _buffered)
                {
                    // Position + done is the file position of the next unread byte; the length check above keeps it below length.
                    _buffered = RandomAccess.Read(handle, _buffer, Position + done);
                    _used = 0;
                    if (_buffered <= 0)
                    {
                        throw new EdgeAvsrException($"{Path}: GGUF metadata runs past the end of the file at byte {Position + done} (truncated file?)");
                    }
                }
                int n = Math.Min(destination.Length - done, _buffered - _used);
                _buffer.AsSpan(_used, n).CopyTo(destination[done..]);
                _used += n;
                done += n;
            }
            Position += destination.Length;
        }

        public ulong Fixed(int n)
        {
            Bytes(_scratch.AsSpan(0, n));
            return n switch
            {
                1 => _scratch[0],
                2 => BinaryPrimitives.ReadUInt16LittleEndian(_scratch),
                4 => BinaryPrimitives.ReadUInt32LittleEndian(_scratch),
                _ => BinaryPrimitives.ReadUInt64LittleEndian(_scratch),
            };
        }

        public byte U8() => (byte)Fixed(1);

        public uint U32() => (uint)Fixed(4);

        public int I32() => (int)(uint)Fixed(4);

        public ulong U64() => Fixed(8);

        public long I64() => (long)Fixed(8);

        public string String(string what)
        {
            ulong n = U64();
            if (n > (ulong)Remaining || n > MaxStringBytes)
            {
                throw new EdgeAvsrException($"{Path}: {what} claims {n} bytes at byte {Position}, more than the rest of the file ({Remaining} bytes) holds " +
                    "(truncated or corrupt file?)");
            }
            var bytes = n <= 256 ? stackalloc byte[(int)n] : new byte[n];
            Bytes(bytes);
            // llama.cpp does not require valid UTF-8 either; invalid sequences become U+FFFD here.
            return Encoding.UTF8.GetString(bytes);
        }
    }
}
