using System.Runtime.InteropServices;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Onnx;

namespace EdgeAvsr.Quantize.Onnx;

/// <summary>
/// Rewrites a graph into explicit quantization: per target, a QuantizeLinear -> DequantizeLinear pair (int8, zero point 0,
/// one scale per tensor) on each activation it reads, and its float weight replaced by an int8 initializer followed by a
/// per-axis DequantizeLinear. The new nodes go right before their first reader, so the graph stays in topological order;
/// a float weight no other node reads is removed.
/// </summary>
internal sealed class QdqRewriter
{
    private readonly OnnxGraph _graph;
    private readonly HashSet<string> _names;
    private readonly Dictionary<string, (string Scale, string ZeroPoint)> _scales = [];

    private QdqRewriter(OnnxGraph graph)
    {
        _graph = graph;
        _names = [.. graph.Inputs.Select(i => i.Name), .. graph.Initializers.Select(i => i.Name), .. graph.Nodes.SelectMany(n => n.Outputs),
            .. graph.Nodes.Select(n => n.Name)];
    }

    /// <summary>Rewrites <paramref name="graph"/> in place; returns the weights' scales and errors.</summary>
    public static IReadOnlyList<WeightScale> Apply(OnnxGraph graph, IReadOnlyList<QuantTarget> targets, IReadOnlyDictionary<string, float> activationScales,
        int weightBits) => new QdqRewriter(graph).Run(targets, activationScales, weightBits);

    private List<WeightScale> Run(IReadOnlyList<QuantTarget> targets, IReadOnlyDictionary<string, float> activationScales, int weightBits)
    {
        var byNode = targets.ToDictionary(t => t.NodeIndex);
        var dequantized = new Dictionary<string, string>();
        var weights = new List<WeightScale>();
        var nodes = new List<OnnxNode>(_graph.Nodes.Count + (targets.Count * 3));
        for (int n = 0; n < _graph.Nodes.Count; n++)
        {
            var node = _graph.Nodes[n];
            if (!byNode.TryGetValue(n, out var target))
            {
                nodes.Add(node);
                continue;
            }
            var inputs = node.Inputs.ToArray();
            foreach (string a in target.Activations)
            {
                // A pair per reader: ORT's CPU provider fuses DQ -> MatMul into its int8 kernel only when the DQ feeds that
                // one node, and turns int8 activations into the uint8 its x86 kernels take only for a Q with one DQ.
                string dq = AddActivationQdq(nodes, a, activationScales[a]);
                for (int i = 0; i < inputs.Length; i++)
                {
                    if (inputs[i] == a && (i == 0 || target.Weight is null))
                    {
                        inputs[i] = dq;
                    }
                }
            }
            if (target.Weight is { } w)
            {
                if (!dequantized.TryGetValue(w, out string? dq))
                {
                    var (name, scale) = AddWeightDq(nodes, target, weightBits);
                    dq = name;
                    dequantized[w] = dq;
                    weights.Add(scale);
                }
                inputs[1] = dq;
            }
            nodes.Add(node.WithInputs(inputs));
        }
        _graph.Nodes.Clear();
        _graph.Nodes.AddRange(nodes);
        var read = new HashSet<string>(nodes.SelectMany(n => n.Inputs).Concat(_graph.Outputs.Select(o => o.Name)).Concat(_graph.Inputs.Select(i => i.Name)));
        _graph.Initializers.RemoveAll(i => dequantized.ContainsKey(i.Name) && !read.Contains(i.Name));
        return weights;
    }

    private string AddActivationQdq(List<OnnxNode> nodes, string tensor, float scale)
    {
        if (!_scales.TryGetValue(tensor, out var shared))
        {
            shared = (Unique(tensor + "_scale"), Unique(tensor + "_zero_point"));
            _scales[tensor] = shared;
            _graph.Initializers.Add(OnnxInitializer.Create(shared.Scale, OnnxElementType.Float, [], MemoryMarshal.AsBytes([scale])));
            _graph.Initializers.Add(OnnxInitializer.Create(shared.ZeroPoint, OnnxElementType.Int8, [], [0]));
        }
        var (scaleName, zeroName) = shared;
        string quantized = Unique(tensor + "_quantized");
        string dequantized = Unique(tensor + "_dequantized");
        nodes.Add(OnnxNode.Create("QuantizeLinear", Unique(tensor + "_QuantizeLinear"), [tensor, scaleName, zeroName], [quantized]));
        nodes.Add(OnnxNode.Create("DequantizeLinear", Unique(tensor + "_DequantizeLinear"), [quantized, scaleName, zeroName], [dequantized]));
        return dequantized;
    }

    private (string Dequantized, WeightScale Scale) AddWeightDq(List<OnnxNode> nodes, QuantTarget target, int weightBits)
    {
        var source = _graph.Initializer(target.Weight!)!;
        float[] w = source.ReadFloats();
        long[] dims = [.. source.Dims];
        var q = WeightQuantization.PerChannel(w, dims, target.WeightAxis, weightBits);
        string quantizedName = Unique(source.Name + "_quantized");
        string scaleName = Unique(source.Name + "_scale");
        string zeroName = Unique(source.Name + "_zero_point");
        string dequantized = Unique(source.Name + "_dequantized");
        _graph.Initializers.Add(OnnxInitializer.Create(quantizedName, OnnxElementType.Int8, dims, MemoryMarshal.AsBytes(q.Values.AsSpan())));
        _graph.Initializers.Add(OnnxInitializer.Create(scaleName, OnnxElementType.Float, [q.Scales.Length], MemoryMarshal.AsBytes(q.Scales.AsSpan())));
        _graph.Initializers.Add(OnnxInitializer.Create(zeroName, OnnxElementType.Int8, [q.Scales.Length], new byte[q.Scales.Length]));
        nodes.Add(OnnxNode.Create("DequantizeLinear", Unique(source.Name + "_DequantizeLinear"), [quantizedName, scaleName, zeroName], [dequantized],
            OnnxAttribute.Of("axis", target.WeightAxis)));
        double error = RelativeL2.Of(w, q.Dequantize());
        return (dequantized, new WeightScale(source.Name, target.Node, target.WeightAxis, q.Scales.Length, q.Scales.Min(), q.Scales.Max(), error));
    }

    private string Unique(string name)
    {
        string candidate = name;
        for (int i = 1; !_names.Add(candidate); i++)
        {
            candidate = $"{name}_{i}";
        }
        return candidate;
    }
}
