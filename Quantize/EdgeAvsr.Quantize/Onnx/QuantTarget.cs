namespace EdgeAvsr.Quantize.Onnx;

/// <summary>
/// One MatMul, Gemm or Conv (node <see cref="NodeIndex"/> of the graph) the quantizer puts QDQ pairs around: the
/// activations it reads (quantized per tensor) and its weight initializer (quantized per output channel along
/// <see cref="WeightAxis"/>), or no weight for a MatMul of two activations.
/// </summary>
public sealed record QuantTarget(int NodeIndex, string Node, string OpType, IReadOnlyList<string> Activations, string? Weight, int WeightAxis);
