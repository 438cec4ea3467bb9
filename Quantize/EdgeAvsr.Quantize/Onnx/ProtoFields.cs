using System.Buffers.Binary;
using System.Text;
using EdgeAvsr.Runtime;
using Google.Protobuf;

namespace EdgeAvsr.Quantize.Onnx;

/// <summary>
/// Splits a protobuf message into its fields with Google.Protobuf's <see cref="CodedInputStream"/>, and decodes the
/// scalar and packed values ONNX uses. Every field keeps its bytes, so what is not understood can be written back unchanged.
/// </summary>
internal static class ProtoFields
{
    public static List<ProtoField> Parse(ArraySegment<byte> message, string what)
    {
        var fields = new List<ProtoField>();
        byte[] buffer = message.Array!;
        try
        {
            var input = new CodedInputStream(buffer, message.Offset, message.Count);
            while (true)
            {
                long start = input.Position;
                uint tag = input.ReadTag();
                if (tag == 0)
                {
                    break;
                }
                long afterTag = input.Position;
                var wire = WireFormat.GetTagWireType(tag);
                ulong varint = 0;
                if (wire == WireFormat.WireType.Varint)
                {
                    varint = input.ReadUInt64();
                }
                else if (wire is WireFormat.WireType.StartGroup or WireFormat.WireType.EndGroup)
                {
                    throw new EdgeAvsrException($"{what}: a protobuf group field, which ONNX never uses; not an ONNX file");
                }
                else
                {
                    input.SkipLastField();
                }
                long end = input.Position;
                // Position counts from the start of the array, not of the message (the buffer constructor's offset is included).
                int offset = (int)start;
                var encoded = new ArraySegment<byte>(buffer, offset, (int)(end - start));
                int valueOffset = (int)afterTag;
                int valueLength = (int)(end - afterTag);
                if (wire == WireFormat.WireType.LengthDelimited)
                {
                    int header = VarintLength(buffer, valueOffset);
                    valueOffset += header;
                    valueLength -= header;
                }
                fields.Add(new ProtoField(WireFormat.GetTagFieldNumber(tag), wire, encoded, new ArraySegment<byte>(buffer, valueOffset, valueLength), varint,
                    what));
            }
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new EdgeAvsrException($"{what}: not a valid ONNX protobuf message ({e.Message})", e);
        }
        return fields;
    }

    private static int VarintLength(byte[] buffer, int offset)
    {
        int n = 0;
        while ((buffer[offset + n] & 0x80) != 0)
        {
            n++;
        }
        return n + 1;
    }

    // A field of the wrong wire type (a string where ONNX has an integer) is a damaged or foreign file, never a value read anyway.
    public static string String(in ProtoField f)
    {
        Expect(f, WireFormat.WireType.LengthDelimited, "a string");
        return Encoding.UTF8.GetString(f.Payload);
    }

    public static long Int(in ProtoField f)
    {
        Expect(f, WireFormat.WireType.Varint, "an integer");
        return (long)f.Varint;
    }

    /// <summary>Repeated int64 fields: one varint per field, or packed (proto3's default) in one length-delimited field.</summary>
    public static void AddInt64s(in ProtoField f, List<long> into)
    {
        if (f.Wire == WireFormat.WireType.Varint)
        {
            into.Add((long)f.Varint);
            return;
        }
        Expect(f, WireFormat.WireType.LengthDelimited, "integers");
        try
        {
            var input = new CodedInputStream(f.Payload.Array!, f.Payload.Offset, f.Payload.Count);
            while (!input.IsAtEnd)
            {
                into.Add(input.ReadInt64());
            }
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new EdgeAvsrException($"{f.Message}: field {f.Number}: packed integers cut short ({e.Message})", e);
        }
    }

    /// <summary>Repeated float fields: one fixed32 per field, or packed.</summary>
    public static void AddFloats(in ProtoField f, List<float> into)
    {
        if (f.Wire == WireFormat.WireType.Fixed32)
        {
            into.Add(BinaryPrimitives.ReadSingleLittleEndian(f.Payload));
            return;
        }
        Expect(f, WireFormat.WireType.LengthDelimited, "floats");
        if (f.Payload.Count % sizeof(float) != 0)
        {
            throw new EdgeAvsrException($"{f.Message}: field {f.Number}: {f.Payload.Count} bytes of packed floats, not a multiple of 4");
        }
        for (int i = 0; i < f.Payload.Count; i += sizeof(float))
        {
            into.Add(BinaryPrimitives.ReadSingleLittleEndian(f.Payload.AsSpan(i)));
        }
    }

    public static float Float(in ProtoField f)
    {
        Expect(f, WireFormat.WireType.Fixed32, "a float");
        return BinaryPrimitives.ReadSingleLittleEndian(f.Payload);
    }

    private static void Expect(in ProtoField f, WireFormat.WireType wire, string expected)
    {
        if (f.Wire != wire)
        {
            throw new EdgeAvsrException($"{f.Message}: field {f.Number} is protobuf wire type {f.Wire}, expected {expected}");
        }
    }
}
