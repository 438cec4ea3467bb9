using System.Globalization;

namespace EdgeAvsr.Runtime.Onnx;

public static class ExecutionProviderExtensions
{
    public static string ToText(this ExecutionProvider p) => p switch
    {
        ExecutionProvider.Cpu => "cpu",
        ExecutionProvider.Cuda => "cuda",
        ExecutionProvider.TensorRt => "tensorrt",
        _ => p.ToString(),
    };
}
