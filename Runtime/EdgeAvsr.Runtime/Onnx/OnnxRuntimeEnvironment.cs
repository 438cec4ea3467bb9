using System.Runtime.InteropServices;
using EdgeAvsr.Runtime.Interop;
using Microsoft.ML.OnnxRuntime;

namespace EdgeAvsr.Runtime.Onnx;

/// <summary>
/// The native ONNX Runtime under the Microsoft.ML.OnnxRuntime package, started once per process: the library file
/// (the package's copy beside the application, or <c>$EDGEAVSR_NATIVE_DIR</c>'s, e.g. a Jetson's source-built one with
/// TensorRT), the package's version check, and the one <see cref="OrtEnv"/> with ORT's logging routed to
/// <see cref="OnnxRuntimeLog"/>. A library that is missing or too old is an <see cref="EdgeAvsrException"/> naming the
/// file and what is required; the package cannot retry in the same process, so neither does this.
/// </summary>
public static class OnnxRuntimeEnvironment
{
    /// <summary>The library name in the package's DllImports.</summary>
    public const string LibraryName = "onnxruntime";

    /// <summary>The C API version Microsoft.ML.OnnxRuntime 1.32 asks the library for; ORT 1.31 was the first to offer it.</summary>
    public const int ApiVersion = 31;

    public const string MinimumLibraryVersion = "1.31";

    /// <summary>File names looked for in <c>$EDGEAVSR_NATIVE_DIR</c>, in order (a source build installs both).</summary>
    public static readonly IReadOnlyList<string> LibraryFiles = ["libonnxruntime.so", "libonnxruntime.so.1"];

    private static readonly Lock s_gate = new();
    private static NativeEngineInfo? s_info;
    private static string? s_failure;

    /// <summary>The environment every session lives in (starting ORT on first use).</summary>
    internal static OrtEnv Env
    {
        get
        {
            Initialize();
            return OrtEnv.Instance();
        }
    }

    /// <summary>Starts ORT if it is not yet, and says which library file, version and providers it has.</summary>
    public static NativeEngineInfo Initialize()
    {
        if (Volatile.Read(ref s_info) is { } info)
        {
            return info;
        }
        lock (s_gate)
        {
            if (s_info is null)
            {
                if (s_failure is not null)
                {
                    throw new EdgeAvsrException(s_failure);
                }
                try
                {
                    Volatile.Write(ref s_info, Start());
                }
                catch (EdgeAvsrException e)
                {
                    s_failure = e.Message;
                    throw;
                }
            }
            return s_info!;
        }
    }

    private static NativeEngineInfo Start()
    {
        // Before the library is loaded and its environment made: ORT's telemetry starts there.
        OrtTelemetry.DisableForThisProcess();
        string? custom = null;
        string? folder = Environment.GetEnvironmentVariable(NativeEngines.DirectoryVariable);
        if (!string.IsNullOrEmpty(folder))
        {
            string dir = Path.GetFullPath(folder);
            custom = LibraryFiles.Select(f => Path.Combine(dir, f)).FirstOrDefault(File.Exists)
                ?? throw new EdgeAvsrException($"onnxruntime: {LibraryFiles[0]} not found in {dir} (${NativeEngines.DirectoryVariable}); put "
                    + $"libonnxruntime {MinimumLibraryVersion} or newer there, or unset {NativeEngines.DirectoryVariable} "
                    + "to use the package's copy beside the application");
            LoadFrom(custom);
        }

        OrtEnv env;
        try
        {
            var options = new EnvironmentCreationOptions
            {
                logId = "edgeavsr",
                logLevel = OnnxRuntimeLog.MinimumLevel,
                loggingFunction = OnnxRuntimeLog.Receive,
            };
            env = OrtEnv.IsCreated ? OrtEnv.Instance() : OrtEnv.CreateInstanceWithOptions(ref options);
        }
        catch (TypeInitializationException e)
        {
            // The package checks the library in a static constructor: its reason is the inner exception.
            throw StartFailure(e.InnerException ?? e, custom);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException or InvalidOperationException)
        {
            throw StartFailure(e, custom);
        }
        catch (OnnxRuntimeException e)
        {
            throw new EdgeAvsrException($"onnxruntime: the environment could not be made: {OrtError.Of(e).Message}", e);
        }

        string file = custom ?? LoadedFile() ?? "(not found among this process's mapped files)";
        string source = custom is null ? "the package's copy beside the application" : $"${NativeEngines.DirectoryVariable}";
        return new NativeEngineInfo("onnxruntime", [file], env.GetVersionString(),
        [
            $"C API version {ApiVersion} (asked for by Microsoft.ML.OnnxRuntime {ManagedVersion()})",
            $"providers compiled in: {string.Join(", ", env.GetAvailableProviders())}",
            $"loaded from {source}",
        ]);
    }

    /// <summary>Sends the package's DllImports of "onnxruntime" to <paramref name="path"/> instead of its own search.</summary>
    private static void LoadFrom(string path)
    {
        OrtEnv.DisableDllImportResolver = true;
        try
        {
            NativeLibrary.SetDllImportResolver(typeof(OrtEnv).Assembly, (name, _, _) => name == LibraryName ? NativeLibrary.Load(path) : 0);
        }
        catch (InvalidOperationException)
        {
            throw new EdgeAvsrException($"onnxruntime: the library was already loaded before {path} (${NativeEngines.DirectoryVariable}) could be chosen; "
                + "start ONNX Runtime through EdgeAvsr before any direct use of the package");
        }
    }

    private static EdgeAvsrException StartFailure(Exception e, string? custom)
    {
        string where = custom ?? LoadedFile() ?? $"{LibraryFiles[0]} beside the application ({AppContext.BaseDirectory})";
        string reason = string.Join(' ', e.Message.Split((char[])['\n', '\r'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        string message = e switch
        {
            InvalidOperationException when reason.Contains("API version", StringComparison.Ordinal) =>
                $"onnxruntime: {where} is too old: Microsoft.ML.OnnxRuntime {ManagedVersion()} needs C API version {ApiVersion}, "
                + $"i.e. libonnxruntime {MinimumLibraryVersion} or newer ({reason})",
            EntryPointNotFoundException => $"onnxruntime: {where} is not an ONNX Runtime library ({reason})",
            BadImageFormatException => $"onnxruntime: {where} is not a library for this machine ({reason})",
            _ when custom is null => $"onnxruntime: {where} could not be loaded (the Microsoft.ML.OnnxRuntime package puts it there at build and "
                + $"publish; ${NativeEngines.DirectoryVariable} names another folder): {reason}",
            _ => $"onnxruntime: {where} could not be loaded: {reason}",
        };
        return new EdgeAvsrException(message, e);
    }

    private static string ManagedVersion() => typeof(OrtEnv).Assembly.GetName().Version is { } v ? $"{v.Major}.{v.Minor}.{v.Build}" : "?";

    /// <summary>The libonnxruntime this process has mapped, or null.</summary>
    private static string? LoadedFile() => Interop.NativeEngines.MappedFiles("/libonnxruntime.so").FirstOrDefault();
}
