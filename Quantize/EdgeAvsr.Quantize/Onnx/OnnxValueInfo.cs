using EdgeAvsr.Runtime.Onnx;

namespace EdgeAvsr.Quantize.Onnx;

/// <summary>A graph input, output or value annotation (onnx.proto <c>ValueInfoProto</c>): its name read, its bytes kept.</summary>
public sealed class OnnxValueInfo
{
    private const int NameField = 1, TypeField = 2;
    private const int TensorTypeField = 1, ElemTypeField = 1;

    private OnnxValueInfo(ArraySegment<byte> encoded, string name)
    {
        Encoded = encoded;
        Name = name;
    }

    internal ArraySegment<byte> Encoded { get; }

    public string Name { get; }

    internal static OnnxValueInfo Parse(ArraySegment<byte> encoded, string what)
    {
        string name = "";
        foreach (var f in ProtoFields.Parse(encoded, what))
        {
            if (f.Number == NameField)
            {
                name = ProtoFields.String(f);
            }
        }
        return new OnnxValueInfo(encoded, name);
    }

    /// <summary>A tensor of <paramref name="elementType"/> with no shape given (ORT infers it).</summary>
    public static OnnxValueInfo Tensor(string name, OnnxElementType elementType)
    {
        byte[] tensorType = ProtoOutput.Encode(o => o.Varint(ElemTypeField, (int)elementType));
        byte[] type = ProtoOutput.Encode(o => o.Bytes(TensorTypeField, tensorType));
        byte[] bytes = ProtoOutput.Encode(o =>
        {
            o.String(NameField, name);
            o.Bytes(TypeField, type);
        });
        return new OnnxValueInfo(bytes, name);
    }
}
