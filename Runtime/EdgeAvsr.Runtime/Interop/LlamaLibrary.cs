using System.Runtime.InteropServices;
using LLama.Native;

namespace EdgeAvsr.Runtime.Interop;

/// <summary>
/// libllama as LLamaSharp loaded it. <see cref="NativeLibraryConfig"/> is set here, before LLamaSharp's first native call:
/// the log callback (<see cref="LlamaLog"/>) and, when <c>$EDGEAVSR_NATIVE_DIR</c> holds a <c>libllama.so</c>, that file
/// (a custom build, e.g. CUDA on a Jetson); otherwise the package picks its ggml CPU variant for this machine
/// (runtimes/linux-x64/native/{noavx,avx,avx2,avx512}). The loaded libggml-base must carry the pinned commit.
/// </summary>
public sealed class LlamaLibrary
{
    private LlamaLibrary(NativeEngineInfo info, IReadOnlyList<string> files, string cpuVariant, string ggmlCommit)
    {
        Info = info;
        Files = files;
        CpuVariant = cpuVariant;
        GgmlCommit = ggmlCommit;
    }

    public NativeEngineInfo Info { get; }

    /// <summary>Full paths of libllama and the ggml libraries mapped into this process.</summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary>noavx, avx, avx2 or avx512 (the package's folder), or "custom" for a build loaded by path.</summary>
    public string CpuVariant { get; }

    /// <summary>The commit string compiled into the loaded libggml-base (<c>ggml_commit()</c>).</summary>
    public string GgmlCommit { get; }

    internal static LlamaLibrary Load()
    {
        const string engine = "llama.cpp";
        var pin = LlamaPin.Read();
        string? custom = null;
        string? dir = Environment.GetEnvironmentVariable(NativeEngines.DirectoryVariable);
        if (!string.IsNullOrEmpty(dir) && File.Exists(Path.Combine(dir, NativeEngines.LlamaFile)))
        {
            custom = Path.GetFullPath(Path.Combine(dir, NativeEngines.LlamaFile));
        }
        if (!NativeLibraryConfig.LLama.LibraryHasLoaded)
        {
            // The app's folder first: LLamaSharp would otherwise try ./runtimes/... relative to the working directory first.
            NativeLibraryConfig.All.WithLogCallback(LlamaLog.Callback).WithSearchDirectory(AppContext.BaseDirectory);
            if (custom is not null)
            {
                NativeLibraryConfig.LLama.WithLibrary(custom);
            }
        }
        try
        {
            NativeApi.llama_empty_call();
        }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or LLama.Exceptions.RuntimeError)
        {
            string what = custom ?? $"LLamaSharp.Backend.Cpu's runtimes/ under {AppContext.BaseDirectory}";
            string native = LlamaLog.RecentProblems();
            throw new EdgeAvsrException($"{engine}: libllama could not be loaded from {what}: {(e.InnerException ?? e).Message.Split('\n')[0]}"
                + (native.Length > 0 ? $" ({native})" : ""));
        }

        var files = NativeEngines.MappedFiles("libllama").Concat(NativeEngines.MappedFiles("libggml")).Distinct(StringComparer.Ordinal).ToList();
        string? ggmlBase = files.FirstOrDefault(f => Path.GetFileName(f).StartsWith("libggml-base", StringComparison.Ordinal));
        string commit = ggmlBase is null ? "" : pin.FindCommit(ggmlBase) ?? "";
        if (!pin.Matches(commit))
        {
            throw new EdgeAvsrException($"{engine}: {ggmlBase ?? "libggml-base"} was built from ggml commit '{(commit.Length > 0 ? commit : "unknown")}', "
                + $"but EdgeAvsr (through LLamaSharp {LlamaPin.PackageVersion}) is pinned to llama.cpp {pin.Release} ({pin.Commit}, native/llama.cpp.pin): "
                + "its structures would not match; use that build");
        }
        string? cpu = files.FirstOrDefault(f => Path.GetFileName(f).StartsWith("libggml-cpu", StringComparison.Ordinal));
        string variant = custom is not null ? "custom"
            : cpu is not null ? Path.GetFileName(Path.GetDirectoryName(cpu)) ?? "?"
            : NativeApi.GetLoadedNativeLibrary(NativeLibraryName.LLama)?.Metadata?.AvxLevel.ToString().ToLowerInvariant() ?? "?";
        var devices = new List<string>();
        nuint count = NativeApi.ggml_backend_dev_count();
        for (nuint i = 0; i < count; i++)
        {
            devices.Add(Marshal.PtrToStringUTF8(NativeApi.ggml_backend_dev_name(NativeApi.ggml_backend_dev_get(i))) ?? "?");
        }
        string system = Marshal.PtrToStringUTF8(NativeApi.llama_print_system_info())?.Trim() ?? "";
        var details = new List<string>
        {
            $"LLamaSharp {LlamaPin.PackageVersion} "
                + $"({(custom is null ? "libllama from LLamaSharp.Backend.Cpu" : $"custom libllama from ${NativeEngines.DirectoryVariable}")})",
            $"llama.cpp commit: {commit} (ggml_commit of {Path.GetFileName(ggmlBase)}; pin {pin.Commit}, release {pin.Release})",
            $"ggml CPU variant: {variant}",
            $"devices: {string.Join("; ", devices)}",
            $"system info: {system}",
        };
        var info = new NativeEngineInfo(engine, files, $"{pin.Release} ({commit})", details);
        return new LlamaLibrary(info, files, variant, commit);
    }
}
