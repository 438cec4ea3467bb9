using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Runtime.Onnx;

/// <summary>A model input or output as the session reports it; symbolic (dynamic) dimensions are -1.</summary>
public sealed record OnnxNodeInfo(string Name, OnnxElementType ElementType, long[] Shape)
{
    public string Describe() => $"'{Name}' {ElementType.ToText()} {TensorDTypes.FormatShape(Shape)}";
}
