namespace EdgeAvsr.Quantize.Onnx;

/// <summary>
/// A graph node (onnx.proto <c>NodeProto</c>): inputs, outputs, name, operator and attributes read; every other field
/// (doc strings, metadata, fields of later ONNX versions) is kept as bytes and written back unchanged.
/// </summary>
public sealed class OnnxNode
{
    private const int InputField = 1, OutputField = 2, NameField = 3, OpTypeField = 4, AttributeField = 5, DomainField = 7;

    private OnnxNode(ArraySegment<byte> encoded, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, string name, string opType, string domain,
        IReadOnlyList<OnnxAttribute> attributes)
    {
        Encoded = encoded;
        Inputs = inputs;
        Outputs = outputs;
        Name = name;
        OpType = opType;
        Domain = domain;
        Attributes = attributes;
    }

    internal ArraySegment<byte> Encoded { get; }

    /// <summary>Input tensor names; "" marks an optional input left out.</summary>
    public IReadOnlyList<string> Inputs { get; }

    public IReadOnlyList<string> Outputs { get; }

    public string Name { get; }

    public string OpType { get; }

    /// <summary>The operator set domain; "" (or ai.onnx) is ONNX's own.</summary>
    public string Domain { get; }

    public IReadOnlyList<OnnxAttribute> Attributes { get; }

    /// <summary>The node's name, or its first output when it has none (for messages).</summary>
    public string Label => Name.Length > 0 ? Name : Outputs.Count > 0 ? Outputs[0] : "(unnamed)";

    public bool IsStandard => Domain is "" or "ai.onnx";

    public OnnxAttribute? Attribute(string name) => Attributes.FirstOrDefault(a => a.Name == name);

    internal static OnnxNode Parse(ArraySegment<byte> encoded, string what)
    {
        var inputs = new List<string>();
        var outputs = new List<string>();
        var attributes = new List<OnnxAttribute>();
        string name = "", op = "", domain = "";
        foreach (var f in ProtoFields.Parse(encoded, what))
        {
            switch (f.Number)
            {
                case InputField:
                    inputs.Add(ProtoFields.String(f));
                    break;
                case OutputField:
                    outputs.Add(ProtoFields.String(f));
                    break;
                case NameField:
                    name = ProtoFields.String(f);
                    break;
                case OpTypeField:
                    op = ProtoFields.String(f);
                    break;
                case DomainField:
                    domain = ProtoFields.String(f);
                    break;
                case AttributeField:
                    attributes.Add(OnnxAttribute.Parse(f.Payload, $"{what}: an attribute"));
                    break;
            }
        }
        return new OnnxNode(encoded, inputs, outputs, name, op, domain, attributes);
    }

    /// <summary>A new node of ONNX's own domain.</summary>
    public static OnnxNode Create(string opType, string name, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs,
        params IReadOnlyList<OnnxAttribute> attributes)
    {
        byte[] bytes = ProtoOutput.Encode(o =>
        {
            foreach (string i in inputs)
            {
                o.String(InputField, i);
            }
            foreach (string x in outputs)
            {
                o.String(OutputField, x);
            }
            o.String(NameField, name);
            o.String(OpTypeField, opType);
            foreach (var a in attributes)
            {
                o.Bytes(AttributeField, a.Encoded);
            }
        });
        return Parse(bytes, name);
    }

    /// <summary>This node with other inputs; every other field keeps its bytes and its place.</summary>
    public OnnxNode WithInputs(IReadOnlyList<string> inputs)
    {
        byte[] bytes = ProtoOutput.Encode(o =>
        {
            bool written = false;
            foreach (var f in ProtoFields.Parse(Encoded, Label))
            {
                if (f.Number != InputField)
                {
                    o.Raw(f.Encoded);
                    continue;
                }
                if (!written)
                {
                    foreach (string i in inputs)
                    {
                        o.String(InputField, i);
                    }
                    written = true;
                }
            }
            if (!written)
            {
                foreach (string i in inputs)
                {
                    o.String(InputField, i);
                }
            }
        });
        return Parse(bytes, Label);
    }
}
