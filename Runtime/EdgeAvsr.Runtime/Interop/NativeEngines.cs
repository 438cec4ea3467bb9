using System.Runtime.InteropServices;
using LLama.Native;

namespace EdgeAvsr.Runtime.Interop;

/// <summary>
/// Finds and loads the pinned engine libraries. Nothing loads implicitly: callers invoke
/// <see cref="InitializeOnnxRuntime"/> / <see cref="InitializeLlama"/>, which report the files loaded and throw
/// <see cref="EdgeAvsrException"/> naming what was searched when a file is missing. ONNX Runtime comes from the
/// Microsoft.ML.OnnxRuntime package, llama.cpp from LLamaSharp.Backend.Cpu; <c>$EDGEAVSR_NATIVE_DIR</c> names a folder
/// of custom builds of either (e.g. the Jetson's CUDA/TensorRT ones).
/// </summary>
public static unsafe class NativeEngines
{
    public const string DirectoryVariable = "EDGEAVSR_NATIVE_DIR";

    /// <summary>A custom libllama (e.g. the Jetson CUDA build) is loaded from <c>$EDGEAVSR_NATIVE_DIR</c> when it holds this file.</summary>
    public const string LlamaFile = "libllama.so";

    private static readonly Lock s_gate = new();
    private static LlamaLibrary? s_llama;

    /// <summary>The folder of custom engine builds (<c>$EDGEAVSR_NATIVE_DIR</c>), or null: the packages' own libraries.</summary>
    public static string? CustomDirectory() =>
        Environment.GetEnvironmentVariable(DirectoryVariable) is { Length: > 0 } env ? Path.GetFullPath(env) : null;

    public static LlamaLibrary Llama => s_llama ?? throw new InvalidOperationException("call NativeEngines.InitializeLlama() first");

    /// <summary>ONNX Runtime through the Microsoft.ML.OnnxRuntime package (see <see cref="Onnx.OnnxRuntimeEnvironment"/>).</summary>
    public static NativeEngineInfo InitializeOnnxRuntime() => Onnx.OnnxRuntimeEnvironment.Initialize();

    /// <summary>
    /// Loads libllama through LLamaSharp (idempotent): the package's build for this CPU, or a custom build found in
    /// <c>$EDGEAVSR_NATIVE_DIR</c>; checks its ggml commit against native/llama.cpp.pin.
    /// </summary>
    public static NativeEngineInfo InitializeLlama()
    {
        lock (s_gate)
        {
            s_llama ??= LlamaLibrary.Load();
            return s_llama.Info;
        }
    }

    /// <summary>Library files of this process whose name contains <paramref name="fragment"/> (from /proc/self/maps).</summary>
    internal static IReadOnlyList<string> MappedFiles(string fragment)
    {
        try
        {
            return File.ReadLines("/proc/self/maps")
                .Select(l => l.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries))
                .Where(p => p.Length == 6 && p[5].Contains(fragment, StringComparison.Ordinal))
                .Select(p => p[5].Trim())
                .Distinct(StringComparer.Ordinal)
                .ToArray();
        }
        catch (IOException)
        {
            return [];
        }
    }
}
