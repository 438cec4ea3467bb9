using EdgeAvsr.Runtime.Formats.Gguf;

namespace EdgeAvsr.Quantize.Gguf;

/// <summary>Receives the tensors' bytes in declaration order; pads each finished tensor to the alignment.</summary>
public sealed class GgufDataWriter
{
    private static readonly byte[] s_zeros = new byte[256];
    private readonly Stream _stream;
    private readonly IReadOnlyList<GgufTensorInfo> _tensors;
    private readonly uint _alignment;
    private int _index;
    private long _written;

    internal GgufDataWriter(Stream stream, IReadOnlyList<GgufTensorInfo> tensors, uint alignment)
    {
        _stream = stream;
        _tensors = tensors;
        _alignment = alignment;
        SkipEmpty();
    }

    /// <summary>The tensor the next bytes belong to, or null when all are written.</summary>
    public GgufTensorInfo? Current => _index < _tensors.Count ? _tensors[_index] : null;

    /// <summary>Appends bytes to the current tensor (a tensor may be written in several parts).</summary>
    public void Write(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            var t = Current ?? throw new InvalidOperationException("all tensors are already written");
            long room = t.ByteSize - _written;
            int n = (int)Math.Min(room, bytes.Length);
            _stream.Write(bytes[..n]);
            _written += n;
            bytes = bytes[n..];
            if (_written == t.ByteSize)
            {
                long pad = GgufLayout.Pad(t.ByteSize, _alignment) - t.ByteSize;
                while (pad > 0)
                {
                    int k = (int)Math.Min(pad, s_zeros.Length);
                    _stream.Write(s_zeros, 0, k);
                    pad -= k;
                }
                _index++;
                _written = 0;
                SkipEmpty();
            }
        }
    }

    /// <summary>Writes a whole tensor, checking it is exactly the declared size.</summary>
    public void WriteTensor(ReadOnlySpan<byte> bytes)
    {
        var t = Current ?? throw new InvalidOperationException("all tensors are already written");
        if (_written != 0 || bytes.Length != t.ByteSize)
        {
            throw new InvalidOperationException($"tensor '{t.Name}' needs {t.ByteSize} bytes, got {bytes.Length}");
        }
        Write(bytes);
    }

    internal void Complete()
    {
        if (Current is { } t)
        {
            throw new InvalidOperationException($"GGUF data incomplete: tensor '{t.Name}' and {_tensors.Count - _index - 1} after it were not written");
        }
    }

    private void SkipEmpty()
    {
        while (_index < _tensors.Count && _tensors[_index].ByteSize == 0)
        {
            _index++;
        }
    }
}
