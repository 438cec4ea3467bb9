namespace EdgeAvsr.Quantize.Onnx;

/// <summary>Element types of onnx.proto's <c>TensorProto.DataType</c> that the quantizer reads or writes (the numbers are ONNX's).</summary>
public enum OnnxDataType
{
    Undefined = 0,
    Float = 1,
    UInt8 = 2,
    Int8 = 3,
    Int32 = 6,
    Int64 = 7,
    Float16 = 10,
    Double = 11,
}
