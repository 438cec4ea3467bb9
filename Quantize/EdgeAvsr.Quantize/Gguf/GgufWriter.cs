using System.Buffers.Binary;
using System.Text;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Formats.Gguf;

namespace EdgeAvsr.Quantize.Gguf;

/// <summary>
/// Writes a GGUF v3 file as a stream: header, metadata and tensor infos first (all sizes are known from
/// the types and dimensions declared up front), then each tensor's data in declaration order through
/// <see cref="GgufDataWriter"/>, padded to the alignment so offsets are contiguous as llama.cpp requires.
/// Only one tensor's bytes need to be in memory at a time. <see cref="Write"/> goes through
/// <see cref="AtomicFile"/>: a failure leaves no partial output.
/// </summary>
public sealed class GgufWriter
{
    private readonly List<KeyValuePair<string, GgufValue>> _metadata = [];
    private readonly Dictionary<string, int> _keyIndex = new(StringComparer.Ordinal);
    private readonly List<GgufTensorInfo> _tensors = [];
    private readonly HashSet<string> _tensorNames = new(StringComparer.Ordinal);
    private long _dataSize;

    public GgufWriter(uint alignment = GgufLayout.DefaultAlignment)
    {
        if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        {
            throw new ArgumentException($"alignment {alignment} is not a power of two", nameof(alignment));
        }
        Alignment = alignment;
        if (alignment != GgufLayout.DefaultAlignment)
        {
            Set("general.alignment", GgufValue.FromUInt32(alignment));
        }
    }

    public uint Alignment { get; }

    public IReadOnlyList<KeyValuePair<string, GgufValue>> Metadata => _metadata;

    public IReadOnlyList<GgufTensorInfo> Tensors => _tensors;

    /// <summary>Total size of the data section (sum of padded tensor sizes).</summary>
    public long DataSize => _dataSize;

    /// <summary>Adds a key, or replaces its value keeping its position.</summary>
    public void Set(string key, GgufValue value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        if (_keyIndex.TryGetValue(key, out int i))
        {
            _metadata[i] = new(key, value);
        }
        else
        {
            _keyIndex[key] = _metadata.Count;
            _metadata.Add(new(key, value));
        }
    }

    public void Remove(string key)
    {
        if (_keyIndex.Remove(key, out int i))
        {
            _metadata.RemoveAt(i);
            for (int j = i; j < _metadata.Count; j++)
            {
                _keyIndex[_metadata[j].Key] = j;
            }
        }
    }

    public void SetString(string key, string value) => Set(key, GgufValue.FromString(value));

    public void SetUInt32(string key, uint value) => Set(key, GgufValue.FromUInt32(value));

    public void SetFloat32(string key, float value) => Set(key, GgufValue.FromFloat32(value));

    public void SetBool(string key, bool value) => Set(key, GgufValue.FromBool(value));

    /// <summary>Declares the next tensor; its data must later be written in this order.</summary>
    public GgufTensorInfo AddTensor(string name, GgmlType type, ReadOnlySpan<long> ne)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (Encoding.UTF8.GetByteCount(name) > GgufLayout.MaxTensorNameBytes)
        {
            throw new ArgumentException($"tensor name '{name}' is longer than {GgufLayout.MaxTensorNameBytes} bytes");
        }
        if (ne.Length is < 1 or > 4)
        {
            throw new ArgumentException($"tensor '{name}' has {ne.Length} dimensions; GGUF allows 1 to 4");
        }
        foreach (long d in ne)
        {
            if (d < 0)
            {
                throw new ArgumentException($"tensor '{name}' has a negative dimension");
            }
        }
        if (!_tensorNames.Add(name))
        {
            throw new ArgumentException($"tensor '{name}' is declared twice");
        }
        long size = GgmlTypes.TensorSize(type, ne);
        var info = new GgufTensorInfo(name, type, ne.ToArray(), _dataSize, size);
        _tensors.Add(info);
        _dataSize += GgufLayout.Pad(size, Alignment);
        return info;
    }

    /// <summary>Writes the file atomically; <paramref name="writeData"/> must write every tensor's bytes in order.</summary>
    public void Write(string path, Action<GgufDataWriter> writeData) => AtomicFile.Write(path, s => WriteTo(s, writeData));

    public void WriteTo(Stream stream, Action<GgufDataWriter> writeData)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(writeData);
        var header = new MemoryStream();
        var w = new BinaryWriter(header, Encoding.UTF8, leaveOpen: true);
        w.Write("GGUF"u8);
        w.Write(3u);
        w.Write((long)_tensors.Count);
        w.Write((long)_metadata.Count);
        foreach (var (key, value) in _metadata)
        {
            WriteString(w, key);
            w.Write((int)value.Type);
            if (value.IsArray)
            {
                w.Write((int)value.ElementType);
                var a = (Array)value.Value;
                w.Write((ulong)a.LongLength);
                foreach (object o in a)
                {
                    WriteScalar(w, value.ElementType, o);
                }
            }
            else
            {
                WriteScalar(w, value.Type, value.Value);
            }
        }
        foreach (var t in _tensors)
        {
            WriteString(w, t.Name);
            w.Write((uint)t.Ne.Length);
            foreach (long d in t.Ne)
            {
                w.Write(d);
            }
            w.Write((int)t.Type);
            w.Write((ulong)t.Offset);
        }
        w.Flush();
        long padded = GgufLayout.Pad(header.Length, Alignment);
        while (header.Length < padded)
        {
            header.WriteByte(0);
        }
        header.Position = 0;
        header.CopyTo(stream);
        var data = new GgufDataWriter(stream, _tensors, Alignment);
        writeData(data);
        data.Complete();
    }

    private static void WriteString(BinaryWriter w, string s)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    private static void WriteScalar(BinaryWriter w, GgufValueType type, object o)
    {
        switch (type)
        {
            case GgufValueType.UInt8: w.Write((byte)o); break;
            case GgufValueType.Int8: w.Write((sbyte)o); break;
            case GgufValueType.UInt16: w.Write((ushort)o); break;
            case GgufValueType.Int16: w.Write((short)o); break;
            case GgufValueType.UInt32: w.Write((uint)o); break;
            case GgufValueType.Int32: w.Write((int)o); break;
            case GgufValueType.Float32: w.Write((float)o); break;
            case GgufValueType.Bool: w.Write((byte)((bool)o ? 1 : 0)); break;
            case GgufValueType.String: WriteString(w, (string)o); break;
            case GgufValueType.UInt64: w.Write((ulong)o); break;
            case GgufValueType.Int64: w.Write((long)o); break;
            case GgufValueType.Float64: w.Write((double)o); break;
            default: throw new ArgumentOutOfRangeException(nameof(type), $"cannot write GGUF type {type}");
        }
    }
}
