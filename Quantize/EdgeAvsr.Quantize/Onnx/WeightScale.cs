namespace EdgeAvsr.Quantize.Onnx;

/// <summary>
/// One weight quantized per output channel: its node, the channel axis, the smallest and largest channel scale, and
/// the relative L2 error of the dequantized weight against the float one.
/// </summary>
public sealed record WeightScale(string Tensor, string Node, int Axis, int Channels, float MinScale, float MaxScale, double RelativeL2);
