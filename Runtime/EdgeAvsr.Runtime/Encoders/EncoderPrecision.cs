namespace EdgeAvsr.Runtime.Encoders;

/// <summary>
/// What an encoder file computes in: float32 throughout, or INT8 through QuantizeLinear / DequantizeLinear pairs
/// (explicit quantization: ONNX Runtime's int8 CPU kernels, TensorRT INT8 engines).
/// </summary>
public enum EncoderPrecision
{
    Fp32,
    Int8,
}
