namespace EdgeAvsr.Quantize.Onnx;

/// <summary>A node attribute (onnx.proto <c>AttributeProto</c>): its name and the scalar values read from it; the bytes stay as read.</summary>
public sealed class OnnxAttribute
{
    private const int NameField = 1, FloatField = 2, IntField = 3, IntsField = 8, TypeField = 20;
    private const int TypeInt = 2;

    private OnnxAttribute(ArraySegment<byte> encoded, string name, long? integer, float? single, IReadOnlyList<long> integers)
    {
        Encoded = encoded;
        Name = name;
        Int = integer;
        Float = single;
        Ints = integers;
    }

    internal ArraySegment<byte> Encoded { get; }

    public string Name { get; }

    /// <summary>The <c>i</c> value, when the attribute holds one.</summary>
    public long? Int { get; }

    /// <summary>The <c>f</c> value, when the attribute holds one.</summary>
    public float? Float { get; }

    public IReadOnlyList<long> Ints { get; }

    internal static OnnxAttribute Parse(ArraySegment<byte> encoded, string what)
    {
        string name = "";
        long? integer = null;
        float? single = null;
        var ints = new List<long>();
        foreach (var f in ProtoFields.Parse(encoded, what))
        {
            switch (f.Number)
            {
                case NameField:
                    name = ProtoFields.String(f);
                    break;
                case IntField:
                    integer = ProtoFields.Int(f);
                    break;
                case FloatField:
                    single = ProtoFields.Float(f);
                    break;
                case IntsField:
                    ProtoFields.AddInt64s(f, ints);
                    break;
            }
        }
        return new OnnxAttribute(encoded, name, integer, single, ints);
    }

    /// <summary>An INT attribute.</summary>
    public static OnnxAttribute Of(string name, long value)
    {
        byte[] bytes = ProtoOutput.Encode(o =>
        {
            o.String(NameField, name);
            o.Varint(IntField, value);
            o.Varint(TypeField, TypeInt);
        });
        return new OnnxAttribute(bytes, name, value, null, []);
    }
}
