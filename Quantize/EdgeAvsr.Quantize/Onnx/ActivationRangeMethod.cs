namespace EdgeAvsr.Quantize.Onnx;

/// <summary>How an activation's quantization range is taken from its calibration values.</summary>
public enum ActivationRangeMethod
{
    /// <summary>The largest absolute value seen.</summary>
    MinMax,

    /// <summary>The given percentile of the absolute values (outliers clipped).</summary>
    Percentile,
}
