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

/// <summary>The devices chosen for a model and why.</summary>
/// <param name="Kind">"CPU" or "CUDA".</param>
/// <param name="Devices">The ggml devices used.</param>
/// <param name="Reason">How the choice was made.</param>
public sealed record LlamaBackendChoice(string Kind, IReadOnlyList<string> Devices, string Reason)
{
    /// <summary>Offload every layer to the GPU devices (false: llama.cpp keeps every layer on the CPU).</summary>
    internal bool Offload => Kind == "CUDA";

    public override string ToString() => $"{Kind} [{string.Join("; ", Devices)}] ({Reason})";
}

/// <summary>A llama.cpp call failed: the call, its status and llama.cpp's own last warnings.</summary>
public sealed class LlamaException : Exception
{
    public LlamaException(string function, int status, string message) : base(message)
    {
        Function = function;
        Status = status;
    }

    public LlamaException() { }

    public LlamaException(string message) : base(message) { }

    public LlamaException(string message, Exception inner) : base(message, inner) { }

    /// <summary>The llama.h function that failed.</summary>
    public string Function { get; } = "";

    /// <summary>Its return code.</summary>
    public int Status { get; }

    /// <summary>Throws for a <c>llama_decode</c> result other than Ok.</summary>
    internal static void CheckDecode(NativeDecodeResult status, int batchEntries)
    {
        if (status != NativeDecodeResult.Ok)
        {
            string what = status switch
            {
                NativeDecodeResult.NoKvSlot => $"no KV-cache slot for a batch of {batchEntries} entries (context too small)",
                NativeDecodeResult.ComputeAborted => "aborted",
                NativeDecodeResult.InvalidInputBatch => $"invalid input batch of {batchEntries} entries",
                _ => $"{status}",
            };
            string native = LlamaLog.RecentProblems();
            throw new LlamaException("llama_decode", (int)status,
                $"llama.cpp llama_decode returned {(int)status}: {what}{(native.Length > 0 ? $" (llama.cpp: {native})" : "")}");
        }
    }
}

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
/// <summary>
/// libllama's own GGUF quantizer (<c>llama_model_quantize</c> through LLamaSharp's <see cref="LLama.LLamaQuantizer"/>), the
/// reference EdgeAvsr's quantizer is compared with in tests and in <c>edgeavsr-bench quantize</c>.
/// </summary>
public static class LlamaModelQuantizer
{
    /// <summary>Quantizes <paramref name="input"/> to <paramref name="output"/> with llama_ftype <paramref name="ftype"/>.</summary>
    public static void Quantize(string input, string output, int ftype, int threads)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        LlamaEngine.Initialize();
        LlamaLog.ClearRecent();
        bool ok;
        try
        {
            // llama_model_quantize_default_params has quantize_output_tensor = true; LLamaQuantizer's parameter defaults to false.
            ok = LLama.LLamaQuantizer.Quantize(input, output, (LLamaFtype)ftype, threads, allowRequantize: false, quantizeOutputTensor: true);
        }
        catch (ArgumentException e)
        {
            throw new EdgeAvsrException($"llama.cpp: llama_model_quantize({input} -> {output}): {e.Message}");
        }
        if (!ok)
        {
            string native = LlamaLog.RecentProblems();
            string reason = native.Length > 0 ? $" ({native})" : "";
            throw new EdgeAvsrException($"llama.cpp: llama_model_quantize({input} -> {output}, ftype {ftype}) failed{reason}");
        }
    }
}
