using System.Runtime.InteropServices;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Onnx;

namespace EdgeAvsr.Quantize.Onnx;

/// <summary>
/// A constant tensor of the graph (onnx.proto <c>TensorProto</c>): name, type, dimensions and where its values lie
/// (<c>raw_data</c> or <c>float_data</c>, or an external file); the bytes stay as read.
/// </summary>
public sealed class OnnxInitializer
{
    private const int DimsField = 1, DataTypeField = 2, FloatDataField = 4, NameField = 8, RawDataField = 9, ExternalDataField = 13,
        DataLocationField = 14;

    private readonly ArraySegment<byte>? _raw;
    private readonly List<float>? _floatData;

    private OnnxInitializer(ArraySegment<byte> encoded, string name, OnnxElementType dataType, IReadOnlyList<long> dims, ArraySegment<byte>? raw,
        List<float>? floatData, bool external)
    {
        Encoded = encoded;
        Name = name;
        DataType = dataType;
        Dims = dims;
        _raw = raw;
        _floatData = floatData;
        IsExternal = external;
    }

    internal ArraySegment<byte> Encoded { get; }

    public string Name { get; }

    public OnnxElementType DataType { get; }

    public IReadOnlyList<long> Dims { get; }

    /// <summary>Its values lie in a file beside the model (<c>data_location</c> EXTERNAL), not in it.</summary>
    public bool IsExternal { get; }

    public long ElementCount => Dims.Aggregate(1L, (a, d) => a * d);

    internal static OnnxInitializer Parse(ArraySegment<byte> encoded, string what)
    {
        var dims = new List<long>();
        string name = "";
        var type = OnnxElementType.Undefined;
        ArraySegment<byte>? raw = null;
        List<float>? floats = null;
        bool external = false;
        foreach (var f in ProtoFields.Parse(encoded, what))
        {
            switch (f.Number)
            {
                case DimsField:
                    ProtoFields.AddInt64s(f, dims);
                    break;
                case DataTypeField:
                    type = (OnnxElementType)(int)ProtoFields.Int(f);
                    break;
                case NameField:
                    name = ProtoFields.String(f);
                    break;
                case RawDataField:
                    raw = f.Payload;
                    break;
                case FloatDataField:
                    floats ??= [];
                    ProtoFields.AddFloats(f, floats);
                    break;
                case ExternalDataField:
                    external = true;
                    break;
                case DataLocationField:
                    external |= ProtoFields.Int(f) == 1;
                    break;
            }
        }
        return new OnnxInitializer(encoded, name, type, dims, raw, floats, external);
    }

    /// <summary>
    /// The values of a float tensor, from <c>raw_data</c> (little-endian) or <c>float_data</c>. An external or
    /// non-float tensor, or one whose value count does not match its dimensions, is an error naming it.
    /// </summary>
    public float[] ReadFloats()
    {
        if (IsExternal)
        {
            throw new EdgeAvsrException($"initializer '{Name}': its data lies in an external file, which this tool does not read; " +
                "re-export the model as one file (onnx.save(..., save_as_external_data=False))");
        }
        if (DataType != OnnxElementType.Float)
        {
            throw new EdgeAvsrException($"initializer '{Name}' is {DataType.ToString().ToUpperInvariant()}; expected FLOAT");
        }
        float[] values = _raw is { } raw ? MemoryMarshal.Cast<byte, float>(raw.AsSpan()).ToArray() : [.. _floatData ?? []];
        if (values.Length != ElementCount)
        {
            throw new EdgeAvsrException($"initializer '{Name}' holds {values.Length} values, its dimensions [{string.Join(", ", Dims)}] need {ElementCount}");
        }
        return values;
    }

    /// <summary>A new tensor with its values in <c>raw_data</c> (little-endian bytes of <paramref name="dataType"/>).</summary>
    public static OnnxInitializer Create(string name, OnnxElementType dataType, IReadOnlyList<long> dims, ReadOnlySpan<byte> raw)
    {
        var encoded = Encode(name, dataType, dims, raw);
        return Parse(encoded, name);
    }

    private static byte[] Encode(string name, OnnxElementType dataType, IReadOnlyList<long> dims, ReadOnlySpan<byte> raw)
    {
        using var memory = new MemoryStream(raw.Length + 64 + name.Length);
        using (var o = new ProtoOutput(memory))
        {
            o.PackedInt64s(DimsField, dims);
            o.Varint(DataTypeField, (int)dataType);
            o.String(NameField, name);
            o.Bytes(RawDataField, raw);
        }
        return memory.ToArray();
    }
}
