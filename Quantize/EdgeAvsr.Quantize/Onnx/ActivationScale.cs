namespace EdgeAvsr.Quantize.Onnx;

/// <summary>
/// The calibration of one activation: the nodes that read it quantized, its largest absolute value, the percentile of
/// its absolute values, and the per-tensor scale written (zero point 0).
/// </summary>
public sealed record ActivationScale(string Tensor, IReadOnlyList<string> Nodes, double MaxAbs, double PercentileAbs, float Scale);
