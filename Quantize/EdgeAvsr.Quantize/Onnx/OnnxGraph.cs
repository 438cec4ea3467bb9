using EdgeAvsr.Runtime;

namespace EdgeAvsr.Quantize.Onnx;

/// <summary>
/// The main graph of a model (onnx.proto <c>GraphProto</c>): nodes, initializers, inputs, outputs and value annotations
/// as editable lists; every other field kept as bytes. Written back with each list at the place its first field had, so a
/// graph read and written unchanged gives the same bytes.
/// </summary>
public sealed class OnnxGraph
{
    private const int NodeField = 1, NameField = 2, InitializerField = 5, InputField = 11, OutputField = 12, ValueInfoField = 13;
    private static readonly int[] s_listFields = [NodeField, InitializerField, InputField, OutputField, ValueInfoField];

    private readonly List<ProtoField> _fields;

    private OnnxGraph(List<ProtoField> fields, string name)
    {
        _fields = fields;
        Name = name;
    }

    public string Name { get; }

    public List<OnnxNode> Nodes { get; } = [];

    public List<OnnxInitializer> Initializers { get; } = [];

    public List<OnnxValueInfo> Inputs { get; } = [];

    public List<OnnxValueInfo> Outputs { get; } = [];

    public List<OnnxValueInfo> ValueInfo { get; } = [];

    internal static OnnxGraph Parse(ArraySegment<byte> encoded, string source)
    {
        var fields = ProtoFields.Parse(encoded, $"{source}: graph");
        string name = fields.Where(f => f.Number == NameField).Select(f => ProtoFields.String(f)).LastOrDefault() ?? "";
        var graph = new OnnxGraph(fields, name);
        foreach (var f in fields)
        {
            switch (f.Number)
            {
                case NodeField:
                    graph.Nodes.Add(OnnxNode.Parse(f.Payload, $"{source}: node {graph.Nodes.Count}"));
                    break;
                case InitializerField:
                    graph.Initializers.Add(OnnxInitializer.Parse(f.Payload, $"{source}: initializer {graph.Initializers.Count}"));
                    break;
                case InputField:
                    graph.Inputs.Add(OnnxValueInfo.Parse(f.Payload, $"{source}: graph input"));
                    break;
                case OutputField:
                    graph.Outputs.Add(OnnxValueInfo.Parse(f.Payload, $"{source}: graph output"));
                    break;
                case ValueInfoField:
                    graph.ValueInfo.Add(OnnxValueInfo.Parse(f.Payload, $"{source}: value_info"));
                    break;
            }
        }
        return graph;
    }

    public OnnxInitializer? Initializer(string name) => Initializers.FirstOrDefault(i => i.Name == name);

    /// <summary>The fields in write order: each list where its first field was (or at the end when it had none).</summary>
    private IEnumerable<(int Number, ArraySegment<byte> Value)> Parts()
    {
        var done = new HashSet<int>();
        foreach (var f in _fields)
        {
            if (!s_listFields.Contains(f.Number))
            {
                yield return (-1, f.Encoded);
            }
            else if (done.Add(f.Number))
            {
                foreach (var part in List(f.Number))
                {
                    yield return (f.Number, part);
                }
            }
        }
        foreach (int number in s_listFields.Where(n => !done.Contains(n)))
        {
            foreach (var part in List(number))
            {
                yield return (number, part);
            }
        }
    }

    private IEnumerable<ArraySegment<byte>> List(int number) => number switch
    {
        NodeField => Nodes.Select(n => n.Encoded),
        InitializerField => Initializers.Select(i => i.Encoded),
        InputField => Inputs.Select(i => i.Encoded),
        OutputField => Outputs.Select(i => i.Encoded),
        ValueInfoField => ValueInfo.Select(i => i.Encoded),
        _ => throw new InvalidOperationException($"field {number}"),
    };

    internal long Size() => Parts().Sum(p => p.Number < 0 ? p.Value.Count : ProtoOutput.FieldSize(p.Number, p.Value.Count));

    internal void WriteTo(ProtoOutput output)
    {
        foreach (var (number, value) in Parts())
        {
            if (number < 0)
            {
                output.Raw(value);
            }
            else
            {
                output.Bytes(number, value);
            }
        }
    }

    /// <summary>Checks that every node input is produced before it is used (ONNX requires the nodes in topological order).</summary>
    internal void CheckTopologicalOrder(string source)
    {
        var known = new HashSet<string>(Inputs.Select(i => i.Name).Concat(Initializers.Select(i => i.Name))) { "" };
        foreach (var node in Nodes)
        {
            foreach (string input in node.Inputs)
            {
                if (!known.Contains(input))
                {
                    throw new EdgeAvsrException($"{source}: node '{node.Label}' ({node.OpType}) reads '{input}' before any node produces it");
                }
            }
            known.UnionWith(node.Outputs);
        }
    }
}
