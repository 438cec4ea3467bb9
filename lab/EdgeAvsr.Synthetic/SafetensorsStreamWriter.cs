using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Synthetic;

/// <summary>
/// A safetensors writer for files larger than memory: tensors are declared up front (name, dtype, shape and a
/// callback that produces the data), the header is written from the declarations, then each callback runs in turn
/// and its bytes go straight to the file. Only one tensor is in memory at a time. The file is written atomically.
/// </summary>
public sealed class SafetensorsStreamWriter
{
    private const int ChunkElements = 1 << 20;

    private readonly List<(string Name, TensorDType DType, long[] Shape, long Bytes, Action<Stream> Write)> _tensors = [];
    private readonly Dictionary<string, string> _metadata = new(StringComparer.Ordinal);
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    /// <summary>The tensors declared so far, in file order (nothing is generated).</summary>
    public IEnumerable<(string Name, TensorDType DType, long[] Shape)> Declared => _tensors.Select(t => (t.Name, t.DType, t.Shape));

    public void SetMetadata(string key, string value) => _metadata[key] = value;

    /// <summary>Declares a tensor whose <paramref name="write"/> callback writes exactly its bytes when the file is written.</summary>
    public void Add(string name, TensorDType dtype, long[] shape, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(write);
        if (!_names.Add(name))
        {
            throw new ArgumentException($"tensor '{name}' is declared twice", nameof(name));
        }
        long elements = shape.Aggregate(1L, (a, b) => a * b);
        _tensors.Add((name, dtype, shape, elements * TensorDTypes.SizeOf(dtype), write));
    }

    /// <summary>Declares a float tensor stored as F32 or BF16; <paramref name="values"/> runs when the file is written.</summary>
    public void AddFloat(string name, TensorDType dtype, long[] shape, Func<float[]> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (dtype is not (TensorDType.F32 or TensorDType.BF16))
        {
            throw new ArgumentException($"tensor '{name}': only F32 and BF16 are produced from floats", nameof(dtype));
        }
        Add(name, dtype, shape, stream => WriteFloats(stream, values(), dtype));
    }

    /// <summary>Declares a copy of <paramref name="tensor"/> of <paramref name="file"/> (which must stay open until <see cref="Write"/>).</summary>
    public void AddCopy(SafetensorsFile file, SafetensorsTensor tensor, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(tensor);
        Add(name ?? tensor.Name, tensor.DType, tensor.Shape, stream =>
        {
            var buffer = new byte[(int)Math.Min(tensor.ByteLength, 16L << 20)];
            for (long at = 0; at < tensor.ByteLength; at += buffer.Length)
            {
                int n = (int)Math.Min(buffer.Length, tensor.ByteLength - at);
                file.ReadRaw(tensor, at, buffer.AsSpan(0, n));
                stream.Write(buffer, 0, n);
            }
        });
    }

    public void Write(string path) => AtomicFile.Write(path, WriteTo);

    public void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        SafetensorsWriter.WriteHeader(stream, _metadata, _tensors.Select(t => (t.Name, t.DType, t.Shape, t.Bytes)));
        var counted = new CountingStream(stream);
        foreach (var t in _tensors)
        {
            long start = counted.Written;
            t.Write(counted);
            if (counted.Written - start != t.Bytes)
            {
                throw new InvalidOperationException($"tensor '{t.Name}': {counted.Written - start} bytes written, {t.Bytes} declared by shape " +
                    $"{TensorDTypes.FormatShape(t.Shape)}");
            }
        }
    }

    /// <summary>Writes floats as F32 or (round-to-nearest-even) BF16, a chunk at a time.</summary>
    public static void WriteFloats(Stream stream, float[] values, TensorDType dtype)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(values);
        if (dtype == TensorDType.F32)
        {
            for (int at = 0; at < values.Length; at += ChunkElements)
            {
                stream.Write(MemoryMarshal.AsBytes(values.AsSpan(at, Math.Min(ChunkElements, values.Length - at))));
            }
            return;
        }
        var chunk = new ushort[Math.Min(ChunkElements, values.Length)];
        for (int at = 0; at < values.Length; at += chunk.Length)
        {
            int n = Math.Min(chunk.Length, values.Length - at);
            for (int i = 0; i < n; i++)
            {
                chunk[i] = TensorDTypes.SingleToBFloat16(values[at + i]);
            }
            stream.Write(MemoryMarshal.AsBytes(chunk.AsSpan(0, n)));
        }
    }

    private sealed class CountingStream(Stream inner) : Stream
    {
        public long Written { get; private set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => Written;
            set => throw new NotSupportedException();
        }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            inner.Write(buffer, offset, count);
            Written += count;
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            inner.Write(buffer);
            Written += buffer.Length;
        }

        public override void WriteByte(byte value)
        {
            inner.WriteByte(value);
            Written++;
        }
    }
}
