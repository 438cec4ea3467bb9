using System.Runtime.InteropServices;

namespace EdgeAvsr.Runtime.Interop;

/// <summary>What was loaded for one native engine, for logs and <c>edgeavsr doctor</c>.</summary>
/// <param name="Engine">"onnxruntime" or "llama.cpp".</param>
/// <param name="Files">Full paths of the library files loaded, in load order.</param>
/// <param name="Version">The engine's own version string.</param>
/// <param name="Details">Further facts (API level, backend and devices chosen, system info).</param>
public sealed record NativeEngineInfo(string Engine, IReadOnlyList<string> Files, string Version, IReadOnlyList<string> Details);

/// <summary>
/// Finds and loads the pinned engine libraries (native/engines.lock). Nothing loads implicitly: callers
/// invoke <see cref="InitializeOnnxRuntime"/> / <see cref="InitializeLlama"/>, which report the files loaded
/// and throw <see cref="EdgeAvsrException"/> naming the folder searched when a file is missing.
/// The folder is <c>$EDGEAVSR_NATIVE_DIR</c> if set, else <c>native/</c> beside the application.
/// </summary>
public static unsafe class NativeEngines
{
    public const string DirectoryVariable = "EDGEAVSR_NATIVE_DIR";

    /// <summary>llama.cpp libraries in dependency order (release v0.5.0 of node-llama-cpp 3.22.1).</summary>
    public static readonly string[] LlamaFiles = ["libggml-base.so", "libggml.v0.5.0.so", "libllama.v0.5.0.so"];

    private static readonly Lock s_gate = new();
    private static LlamaLibrary? s_llama;

    /// <summary>The folder engine libraries are loaded from, and why that one.</summary>
    public static (string Directory, string Source) ResolveDirectory()
    {
        string? env = Environment.GetEnvironmentVariable(DirectoryVariable);
        if (!string.IsNullOrEmpty(env))
        {
            return (Path.GetFullPath(env), $"${DirectoryVariable}");
        }
        return (Path.Combine(AppContext.BaseDirectory, "native"), "beside the application");
    }

    public static LlamaLibrary Llama => s_llama ?? throw new InvalidOperationException("call NativeEngines.InitializeLlama() first");

    /// <summary>ONNX Runtime through the Microsoft.ML.OnnxRuntime package (see <see cref="Onnx.OnnxRuntimeEnvironment"/>).</summary>
    public static NativeEngineInfo InitializeOnnxRuntime() => Onnx.OnnxRuntimeEnvironment.Initialize();

    public static NativeEngineInfo InitializeLlama()
    {
        lock (s_gate)
        {
            s_llama ??= LlamaLibrary.Load(ResolveDirectory());
            return s_llama.Info;
        }
    }

    internal static nint LoadFile(string directory, string source, string file, string engine)
    {
        string path = Path.Combine(directory, file);
        if (!File.Exists(path))
        {
            throw new EdgeAvsrException($"{engine}: {file} not found in {directory} ({source}); run ./build.sh setup or set {DirectoryVariable}");
        }
        try
        {
            return NativeLibrary.Load(path);
        }
        catch (DllNotFoundException e)
        {
            throw new EdgeAvsrException($"{engine}: {path} could not be loaded: {e.Message}");
        }
        catch (BadImageFormatException e)
        {
            throw new EdgeAvsrException($"{engine}: {path} is not a library for this machine: {e.Message}");
        }
    }

    internal static string? ReadUtf8(byte* text) => text is null ? null : Marshal.PtrToStringUTF8((nint)text);

    /// <summary>Library files of this process whose name contains <paramref name="fragment"/> (from /proc/self/maps).</summary>
    internal static IReadOnlyList<string> MappedFiles(string fragment)
    {
        try
        {
            return File.ReadLines("/proc/self/maps")
                .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Where(p => p.Length >= 6 && p[5].Contains(fragment, StringComparison.Ordinal))
                .Select(p => p[5])
                .Distinct(StringComparer.Ordinal)
                .ToArray();
        }
        catch (IOException)
        {
            return [];
        }
    }
}

/// <summary>libllama + libggml(-base), with the ggml backends registered from the engine folder.</summary>
public sealed unsafe class LlamaLibrary
{
    private readonly nint[] _handles;

    private LlamaLibrary(nint[] handles, NativeEngineInfo info)
    {
        _handles = handles;
        Info = info;
    }

    public NativeEngineInfo Info { get; }

    /// <summary>A <c>ggml_log_callback</c> installed before the backends load (set by the llama binding; 0 = ggml's default).</summary>
    internal static nint EarlyLogCallback { get; set; }

    /// <summary>An exported function of libllama, libggml or libggml-base.</summary>
    public nint GetExport(string name)
    {
        for (int i = _handles.Length - 1; i >= 0; i--)
        {
            if (NativeLibrary.TryGetExport(_handles[i], name, out nint f))
            {
                return f;
            }
        }
        throw new EdgeAvsrException($"llama.cpp: no export '{name}' in {string.Join(", ", NativeEngines.LlamaFiles)} (wrong release? pinned: v0.5.0)");
    }

    internal static LlamaLibrary Load((string Directory, string Source) where)
    {
        const string engine = "llama.cpp";
        var handles = NativeEngines.LlamaFiles.Select(f => NativeEngines.LoadFile(where.Directory, where.Source, f, engine)).ToArray();
        var lib = new LlamaLibrary(handles, new NativeEngineInfo(engine, [], "", []));
        if (EarlyLogCallback != 0)
        {
            // Route ggml's messages (backend loading) through the binding's logger from the first one on.
            ((delegate* unmanaged[Cdecl]<nint, void*, void>)lib.GetExport("ggml_log_set"))(EarlyLogCallback, null);
        }

        // Backends must be registered from our folder before llama_backend_init: with no path, ggml
        // searches beside /proc/self/exe, which is the dotnet host's folder (native-apis.md section 1).
        var loadAll = (delegate* unmanaged[Cdecl]<byte*, void>)lib.GetExport("ggml_backend_load_all_from_path");
        byte[] dir = System.Text.Encoding.UTF8.GetBytes(where.Directory + "\0");
        fixed (byte* p = dir)
        {
            loadAll(p);
        }
        ((delegate* unmanaged[Cdecl]<void>)lib.GetExport("llama_backend_init"))();

        var devCount = (delegate* unmanaged[Cdecl]<nuint>)lib.GetExport("ggml_backend_dev_count");
        var devGet = (delegate* unmanaged[Cdecl]<nuint, void*>)lib.GetExport("ggml_backend_dev_get");
        var devName = (delegate* unmanaged[Cdecl]<void*, byte*>)lib.GetExport("ggml_backend_dev_name");
        var devDescription = (delegate* unmanaged[Cdecl]<void*, byte*>)lib.GetExport("ggml_backend_dev_description");
        var devices = new List<string>();
        nuint count = devCount();
        for (nuint i = 0; i < count; i++)
        {
            void* dev = devGet(i);
            devices.Add($"{NativeEngines.ReadUtf8(devName(dev))} ({NativeEngines.ReadUtf8(devDescription(dev))})");
        }
        if (devices.Count == 0)
        {
            throw new EdgeAvsrException($"{engine}: no ggml backend could be loaded from {where.Directory}; expected libggml-cpu-*.so there");
        }
        string version = NativeLibrary.TryGetExport(handles[2], "llama_version", out nint v)
            ? NativeEngines.ReadUtf8(((delegate* unmanaged[Cdecl]<byte*>)v)()) ?? "?"
            : "v0.5.0 (no llama_version export)";
        string system = NativeEngines.ReadUtf8(((delegate* unmanaged[Cdecl]<byte*>)lib.GetExport("llama_print_system_info"))())?.Trim() ?? "";
        var files = NativeEngines.LlamaFiles.Select(f => Path.Combine(where.Directory, f))
            .Concat(NativeEngines.MappedFiles("libggml-cpu").Concat(NativeEngines.MappedFiles("libggml-cuda")))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        var details = new List<string> { $"devices: {string.Join("; ", devices)}", $"system info: {system}", $"loaded from {where.Directory} ({where.Source})" };
        return new LlamaLibrary(handles, new NativeEngineInfo(engine, files, version, details));
    }
}
