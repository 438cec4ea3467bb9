using System.Runtime.InteropServices;
using EdgeAvsr.Runtime.Interop;
using LLama.Native;
using NativeDecodeResult = LLama.Native.DecodeResult;

namespace EdgeAvsr.Runtime.Decoding;

/// <summary>Start-up of llama.cpp through LLamaSharp and the choice of devices.</summary>
public static class LlamaEngine
{
    /// <summary>Loads libllama (idempotent, <see cref="NativeEngines.InitializeLlama"/>); returns what was loaded.</summary>
    public static NativeEngineInfo Initialize() => NativeEngines.InitializeLlama();

    /// <summary>The names of the registered ggml devices (CPU, CUDA0, ...).</summary>
    public static IReadOnlyList<string> Devices()
    {
        Initialize();
        var list = new List<string>();
        nuint n = NativeApi.ggml_backend_dev_count();
        for (nuint i = 0; i < n; i++)
        {
            list.Add(Marshal.PtrToStringUTF8(NativeApi.ggml_backend_dev_name(NativeApi.ggml_backend_dev_get(i))) ?? "?");
        }
        return list;
    }

    /// <summary>Chooses devices for <paramref name="requested"/>; CUDA requested without a GPU device is an error.</summary>
    public static LlamaBackendChoice ChooseBackend(LlamaBackendKind requested) => ChooseBackend(requested, Devices(), NativeApi.llama_supports_gpu_offload());

    /// <summary>The choice from the device names (GPU devices are those other than CPU and host accelerators such as BLAS).</summary>
    internal static LlamaBackendChoice ChooseBackend(LlamaBackendKind requested, IReadOnlyList<string> devices, bool gpuOffload)
    {
        var gpus = gpuOffload ? devices.Where(IsGpu).ToList() : [];
        var cpus = devices.Where(d => d.StartsWith("CPU", StringComparison.OrdinalIgnoreCase)).ToList();
        string registered = string.Join("; ", devices);
        switch (requested)
        {
            case LlamaBackendKind.Cuda when gpus.Count == 0:
                throw new EdgeAvsrException($"llama.cpp: CUDA was requested but this libllama registers no GPU device (devices: {registered}); "
                    + $"load a CUDA build of libllama (put it in ${NativeEngines.DirectoryVariable}) or choose the CPU backend");
            case LlamaBackendKind.Cuda:
                return new LlamaBackendChoice("CUDA", gpus, "requested");
            case LlamaBackendKind.Auto when gpus.Count > 0:
                return new LlamaBackendChoice("CUDA", gpus, "auto: GPU device registered");
            default:
                if (cpus.Count == 0)
                {
                    throw new EdgeAvsrException($"llama.cpp: no CPU device registered (devices: {registered})");
                }
                return new LlamaBackendChoice("CPU", cpus, requested == LlamaBackendKind.Cpu ? "requested" : "auto: no GPU device registered");
        }
    }

    private static bool IsGpu(string device) =>
        !device.StartsWith("CPU", StringComparison.OrdinalIgnoreCase) && !device.StartsWith("BLAS", StringComparison.OrdinalIgnoreCase)
        && !device.StartsWith("RPC", StringComparison.OrdinalIgnoreCase);
}
