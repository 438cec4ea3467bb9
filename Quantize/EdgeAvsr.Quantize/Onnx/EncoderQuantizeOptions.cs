namespace EdgeAvsr.Quantize.Onnx;

/// <summary>How <see cref="EncoderQuantizer"/> quantizes.</summary>
public sealed record EncoderQuantizeOptions
{
    /// <summary>
    /// The activation ranges the written model uses (both methods are measured and reported). Percentile 99.99 by default:
    /// it gave the lower output error on all four encoders measured (tiny and full-size Whisper and AV-HuBERT; BENCHMARKS.md).
    /// </summary>
    public ActivationRangeMethod Method { get; init; } = ActivationRangeMethod.Percentile;

    /// <summary>The percentile of absolute values for <see cref="ActivationRangeMethod.Percentile"/>.</summary>
    public double Percentile { get; init; } = 99.99;

    /// <summary>
    /// Bits of the weights: 8 (-127..127) or 7 (-63..63, for x86 CPUs without VNNI, whose u8 x s8 multiply-add
    /// saturates int16 sums of two products when weights use the full int8 range).
    /// </summary>
    public int WeightBits { get; init; } = 8;

    /// <summary>
    /// The operators whose weights and inputs are quantized: MatMul and Gemm by default; Conv on request. A QDQ Conv
    /// (input and weight, float bias, as TensorRT's explicit quantization takes it) stays a float Conv on ORT's CPU provider,
    /// plus the quantize/dequantize passes: AV-HuBERT Large ran 0.89x fp32 with its convolutions quantized, 1.37x without
    /// (BENCHMARKS.md, Encoders (ORT)).
    /// </summary>
    public IReadOnlySet<string> Operators { get; init; } = new HashSet<string> { "MatMul", "Gemm" };

    /// <summary>Also quantize MatMuls whose two inputs are activations (attention scores and context).</summary>
    public bool ActivationMatMuls { get; init; }

    /// <summary>ONNX Runtime intra-op threads for calibration and the error measurement; 0 = one per core.</summary>
    public int Threads { get; init; }

    /// <summary>Receives progress lines.</summary>
    public Action<string>? Log { get; init; }
}
