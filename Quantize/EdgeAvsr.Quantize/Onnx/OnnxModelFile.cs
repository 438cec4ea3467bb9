using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Quantize.Onnx;

/// <summary>
/// An ONNX model file (onnx.proto <c>ModelProto</c>) read and written by the project's own protobuf code: the graph
/// and the operator sets are read, every other field (producer, metadata, functions, training info, fields of later
/// ONNX versions) is kept as bytes and written back unchanged. Models up to 2 GiB (the protobuf limit).
/// </summary>
public sealed class OnnxModelFile
{
    private const int GraphField = 7, OpsetField = 8;
    private const int OpsetDomainField = 1, OpsetVersionField = 2;

    private readonly List<ProtoField> _fields;

    private OnnxModelFile(byte[] bytes, string source, List<ProtoField> fields, OnnxGraph graph, IReadOnlyDictionary<string, long> opsets)
    {
        Bytes = bytes;
        Source = source;
        _fields = fields;
        Graph = graph;
        Opsets = opsets;
    }

    /// <summary>The bytes read: every field not changed since points into them.</summary>
    internal byte[] Bytes { get; }

    /// <summary>The file read (for messages).</summary>
    public string Source { get; }

    public OnnxGraph Graph { get; }

    /// <summary>Operator set versions by domain ("" for ONNX's own).</summary>
    public IReadOnlyDictionary<string, long> Opsets { get; }

    /// <summary>The version of ONNX's own operator set (0 when the model imports none).</summary>
    public long OnnxOpset => Opsets.TryGetValue("", out long v) ? v : Opsets.TryGetValue("ai.onnx", out long w) ? w : 0;

    public static OnnxModelFile Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new EdgeAvsrException($"{path}: model file not found");
        }
        long length = new FileInfo(path).Length;
        if (length > Array.MaxLength)
        {
            throw new EdgeAvsrException($"{path}: {length} bytes; an ONNX protobuf file holds at most 2 GiB " +
                "(larger models keep their weights in external data)");
        }
        return Parse(File.ReadAllBytes(path), path);
    }

    public static OnnxModelFile Parse(byte[] bytes, string source = "(memory)")
    {
        ArgumentNullException.ThrowIfNull(bytes);
        var fields = ProtoFields.Parse(bytes, source);
        OnnxGraph? graph = null;
        var opsets = new Dictionary<string, long>();
        foreach (var f in fields)
        {
            if (f.Number == GraphField)
            {
                graph = OnnxGraph.Parse(f.Payload, source);
            }
            else if (f.Number == OpsetField)
            {
                string domain = "";
                long version = 0;
                foreach (var o in ProtoFields.Parse(f.Payload, $"{source}: opset_import"))
                {
                    if (o.Number == OpsetDomainField)
                    {
                        domain = ProtoFields.String(o);
                    }
                    else if (o.Number == OpsetVersionField)
                    {
                        version = ProtoFields.Int(o);
                    }
                }
                opsets[domain] = version;
            }
        }
        if (graph is null)
        {
            throw new EdgeAvsrException($"{source}: not an ONNX model (no graph)");
        }
        return new OnnxModelFile(bytes, source, fields, graph, opsets);
    }

    public void WriteTo(Stream stream)
    {
        using var output = new ProtoOutput(stream);
        bool written = false;
        foreach (var f in _fields)
        {
            if (f.Number != GraphField)
            {
                output.Raw(f.Encoded);
            }
            else if (!written)
            {
                output.Header(GraphField, Graph.Size());
                Graph.WriteTo(output);
                written = true;
            }
        }
    }

    /// <summary>Writes the model to <paramref name="path"/> through a temporary file renamed into place.</summary>
    public void Write(string path) => AtomicFile.Write(path, WriteTo);

    public byte[] ToBytes()
    {
        using var memory = new MemoryStream();
        WriteTo(memory);
        return memory.ToArray();
    }
}
