using System.Text;
using Google.Protobuf;

namespace EdgeAvsr.Quantize.Onnx;

/// <summary>
/// Writes protobuf fields to a stream with Google.Protobuf's <see cref="CodedOutputStream"/> for tags and varints;
/// bytes already encoded (fields kept from the input, tensor payloads) go straight to the stream after a flush.
/// </summary>
internal sealed class ProtoOutput : IDisposable
{
    private readonly Stream _stream;
    private readonly CodedOutputStream _coded;

    public ProtoOutput(Stream stream)
    {
        _stream = stream;
        _coded = new CodedOutputStream(stream, leaveOpen: true);
    }

    public static byte[] Encode(Action<ProtoOutput> write)
    {
        using var memory = new MemoryStream();
        using (var output = new ProtoOutput(memory))
        {
            write(output);
        }
        return memory.ToArray();
    }

    public void Raw(ReadOnlySpan<byte> bytes)
    {
        _coded.Flush();
        _stream.Write(bytes);
    }

    public void Varint(int number, long value)
    {
        _coded.WriteTag(number, WireFormat.WireType.Varint);
        _coded.WriteInt64(value);
    }

    public void String(int number, string value)
    {
        _coded.WriteTag(number, WireFormat.WireType.LengthDelimited);
        _coded.WriteString(value);
    }

    public void Float(int number, float value)
    {
        _coded.WriteTag(number, WireFormat.WireType.Fixed32);
        _coded.WriteFloat(value);
    }

    /// <summary>A length-delimited field (bytes or an encoded message) whose value is <paramref name="value"/>.</summary>
    public void Bytes(int number, ReadOnlySpan<byte> value)
    {
        Header(number, value.Length);
        Raw(value);
    }

    /// <summary>The tag and length of a length-delimited field whose value the caller writes next.</summary>
    public void Header(int number, long length)
    {
        _coded.WriteTag(number, WireFormat.WireType.LengthDelimited);
        _coded.WriteLength(checked((int)length));
    }

    public void PackedInt64s(int number, IReadOnlyList<long> values)
    {
        if (values.Count == 0)
        {
            return;
        }
        int size = values.Sum(CodedOutputStream.ComputeInt64Size);
        Header(number, size);
        foreach (long v in values)
        {
            _coded.WriteInt64(v);
        }
    }

    /// <summary>Bytes a length-delimited field of <paramref name="length"/> value bytes takes, tag included.</summary>
    public static long FieldSize(int number, long length) =>
        CodedOutputStream.ComputeTagSize(number) + CodedOutputStream.ComputeLengthSize(checked((int)length)) + length;

    public static int StringBytes(string s) => Encoding.UTF8.GetByteCount(s);

    public void Dispose()
    {
        _coded.Flush();
        _coded.Dispose();
    }
}
