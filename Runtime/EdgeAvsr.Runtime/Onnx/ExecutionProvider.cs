using System.Globalization;

namespace EdgeAvsr.Runtime.Onnx;

/// <summary>The execution providers this runtime can ask ONNX Runtime for.</summary>
public enum ExecutionProvider
{
    Cpu,
    Cuda,
    TensorRt,
}
