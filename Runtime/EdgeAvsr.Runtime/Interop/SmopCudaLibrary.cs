using System.Runtime.InteropServices;

namespace EdgeAvsr.Runtime.Interop;

/// <summary>
/// libsmop_cuda.so, the projector's CUDA kernels (native/smop-cuda, built by <c>./build.sh cuda</c>): found in
/// <c>$EDGEAVSR_NATIVE_DIR</c>, else beside the application. Loading needs no GPU; <see cref="Probe"/> reports the device
/// or why there is none, and <see cref="RequireDevice"/> turns its absence into one <see cref="EdgeAvsrException"/> line.
/// </summary>
public static unsafe class SmopCudaLibrary
{
    public const string FileName = "libsmop_cuda.so";

    private static readonly Lock s_gate = new();
    private static SmopCudaProbe? s_probe;

    /// <summary>Where the library is looked for, in order.</summary>
    public static IReadOnlyList<string> SearchPaths()
    {
        var paths = new List<string>();
        if (NativeEngines.CustomDirectory() is { } custom)
        {
            paths.Add(Path.Combine(custom, FileName));
        }
        paths.Add(Path.Combine(AppContext.BaseDirectory, FileName));
        return paths;
    }

    /// <summary>Loads the library (once) and asks it for a CUDA device; never throws for a missing library or device.</summary>
    public static SmopCudaProbe Probe()
    {
        lock (s_gate)
        {
            return s_probe ??= ProbeOnce();
        }
    }

    /// <summary>The probe when the library loaded and sees a device; otherwise an <see cref="EdgeAvsrException"/> saying why not.</summary>
    public static SmopCudaProbe RequireDevice()
    {
        var probe = Probe();
        if (probe.LibraryPath is null)
        {
            throw new EdgeAvsrException($"projector device cuda: {probe.Description}");
        }
        if (probe.DeviceCount == 0)
        {
            throw new EdgeAvsrException($"projector device cuda: {probe.LibraryPath}: {probe.Description}");
        }
        return probe;
    }

    /// <summary>The library's last error (one line), for messages after a failed call.</summary>
    internal static string LastError() => Marshal.PtrToStringUTF8((nint)SmopCudaNative.LastError()) ?? "";

    private static SmopCudaProbe ProbeOnce()
    {
        string? path = SearchPaths().FirstOrDefault(File.Exists);
        if (path is null)
        {
            return new SmopCudaProbe(null, 0, $"{FileName} not found (looked in {string.Join(", ", SearchPaths())}; ./build.sh cuda builds it)");
        }
        if (!NativeLibrary.TryLoad(path, out nint handle))
        {
            return new SmopCudaProbe(null, 0, $"{path} could not be loaded (dlopen failed)");
        }
        // The generated P/Invokes resolve "smop_cuda" to this handle; one resolver per assembly, none other set in this one.
        NativeLibrary.SetDllImportResolver(typeof(SmopCudaLibrary).Assembly,
            (name, _, _) => name == SmopCudaNative.LibraryName ? handle : 0);
        int abi = SmopCudaNative.AbiVersionOfLibrary();
        if (abi != SmopCudaNative.AbiVersion)
        {
            return new SmopCudaProbe(null, 0, $"{path} has ABI version {abi}, this build expects {SmopCudaNative.AbiVersion}");
        }
        const int capacity = 512;
        byte* text = stackalloc byte[capacity];
        int devices = SmopCudaNative.Probe(text, capacity);
        return new SmopCudaProbe(path, devices, Marshal.PtrToStringUTF8((nint)text) ?? "");
    }
}
