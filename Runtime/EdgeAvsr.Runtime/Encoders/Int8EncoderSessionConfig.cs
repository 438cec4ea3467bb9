namespace EdgeAvsr.Runtime.Encoders;

/// <summary>
/// ONNX Runtime session settings an INT8 (QDQ) encoder needs on the CPU provider for its MatMuls to become int8 kernels
/// (MatMulIntegerToFloat) instead of DequantizeLinear + float MatMul. Measured on ORT 1.32 with the quantizer's Whisper
/// graph: MatMulAddFusion turns MatMul + bias into a Gemm whose float bias no int8 Gemm kernel takes, and common
/// subexpression elimination merges the per-reader QuantizeLinear nodes back into one, whose int8 output the x86
/// provider then neither converts to uint8 nor fuses. With both off all 12 weight MatMuls of the tiny encoder ran int8;
/// with either on, 6 or none did.
/// </summary>
public static class Int8EncoderSessionConfig
{
    public const string DisabledOptimizersKey = "optimization.disable_specified_optimizers";

    /// <summary>The session config entries (<c>SessionOptions.AddSessionConfigEntry</c>).</summary>
    public static IReadOnlyDictionary<string, string> Entries { get; } = new Dictionary<string, string>
    {
        [DisabledOptimizersKey] = "MatMulAddFusion;CommonSubexpressionElimination",
    };
}
