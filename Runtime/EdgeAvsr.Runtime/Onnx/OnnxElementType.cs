using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Runtime.Onnx;

/// <summary>
/// <c>ONNXTensorElementDataType</c>: the element types this runtime moves in and out of ORT (the same numbers as the
/// package's <c>TensorElementType</c> and as onnx.proto's <c>TensorProto.DataType</c>, which the quantizer reads and writes).
/// </summary>
public enum OnnxElementType
{
    Undefined = 0,
    Float = 1,
    UInt8 = 2,
    Int8 = 3,
    Int32 = 6,
    Int64 = 7,
    Bool = 9,
    Float16 = 10,
    Double = 11,
}
