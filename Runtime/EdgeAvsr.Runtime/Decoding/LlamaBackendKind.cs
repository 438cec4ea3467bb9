using System.Runtime.InteropServices;
using EdgeAvsr.Runtime.Interop;
using LLama.Native;
using NativeDecodeResult = LLama.Native.DecodeResult;

namespace EdgeAvsr.Runtime.Decoding;

/// <summary>Which ggml devices a model runs on.</summary>
public enum LlamaBackendKind
{
    /// <summary>CUDA when a GPU device is registered, else CPU (the choice is reported, never silent).</summary>
    Auto,
    Cpu,
    /// <summary>CUDA only: an error when no GPU device is registered.</summary>
    Cuda,
}
