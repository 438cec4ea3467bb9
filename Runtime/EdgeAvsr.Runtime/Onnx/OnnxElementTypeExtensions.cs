using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Runtime.Onnx;

public static class OnnxElementTypeExtensions
{
    public static string ToText(this OnnxElementType type) => type switch
    {
        OnnxElementType.Float => "float32",
        OnnxElementType.UInt8 => "uint8",
        OnnxElementType.Int8 => "int8",
        OnnxElementType.Int32 => "int32",
        OnnxElementType.Int64 => "int64",
        OnnxElementType.Bool => "bool",
        OnnxElementType.Float16 => "float16",
        OnnxElementType.Double => "float64",
        _ => $"type {(int)type}",
    };
}
