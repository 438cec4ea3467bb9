using System.Runtime.InteropServices;

namespace EdgeAvsr.Runtime.Interop.Onnx;

/// <summary>
/// Zero-based slot indices into the <c>OrtApi</c> function table (API version 30, ORT 1.30). The table is
/// append-only, so an index once verified stays valid: these were computed with
/// <c>offsetof(OrtApi, X) / sizeof(void*)</c> from the API-29 header and checked against the pinned
/// libonnxruntime.so.1 (shared/docs/native-apis.md section 3; the tests exercise every one of them).
/// </summary>
internal static class OrtSlot
{
    public const int GetErrorCode = 1;
    public const int GetErrorMessage = 2;
    public const int CreateEnv = 3;
    public const int CreateSession = 7;
    public const int CreateSessionFromArray = 8;
    public const int Run = 9;
    public const int CreateSessionOptions = 10;
    public const int SetSessionGraphOptimizationLevel = 23;
    public const int SetIntraOpNumThreads = 24;
    public const int SetInterOpNumThreads = 25;
    public const int SessionGetInputCount = 30;
    public const int SessionGetOutputCount = 31;
    public const int SessionGetInputTypeInfo = 33;
    public const int SessionGetOutputTypeInfo = 34;
    public const int SessionGetInputName = 36;
    public const int SessionGetOutputName = 37;
    public const int CreateTensorWithDataAsOrtValue = 49;
    public const int GetTensorMutableData = 51;
    public const int CastTypeInfoToTensorInfo = 55;
    public const int GetOnnxTypeFromTypeInfo = 56;
    public const int GetTensorElementType = 60;
    public const int GetDimensionsCount = 61;
    public const int GetDimensions = 62;
    public const int GetTensorTypeAndShape = 65;
    public const int CreateCpuMemoryInfo = 69;
    public const int AllocatorFree = 76;
    public const int GetAllocatorWithDefaultOptions = 78;
    public const int ReleaseEnv = 92;
    public const int ReleaseStatus = 93;
    public const int ReleaseMemoryInfo = 94;
    public const int ReleaseSession = 95;
    public const int ReleaseValue = 96;
    public const int ReleaseTypeInfo = 98;
    public const int ReleaseTensorTypeAndShapeInfo = 99;
    public const int ReleaseSessionOptions = 100;
    public const int GetAvailableProviders = 125;
    public const int ReleaseAvailableProviders = 126;
    public const int AddSessionConfigEntry = 130;
    public const int SessionOptionsAppendExecutionProviderTensorRtV2 = 170;
    public const int CreateTensorRTProviderOptions = 171;
    public const int UpdateTensorRTProviderOptions = 172;
    public const int ReleaseTensorRTProviderOptions = 174;
    public const int SessionOptionsAppendExecutionProviderCudaV2 = 204;
    public const int CreateCudaProviderOptions = 205;
    public const int UpdateCudaProviderOptions = 206;
    public const int ReleaseCudaProviderOptions = 208;
}

/// <summary>
/// Typed calls through the <c>const OrtApi*</c> that <see cref="NativeEngines.InitializeOnnxRuntime"/> obtained.
/// Every function that returns <c>OrtStatus*</c> goes through <see cref="Check"/>, the one place a status becomes
/// an <see cref="OnnxRuntimeException"/> (and is always released). Pointers never leave the Interop folder.
/// </summary>
internal static unsafe class OrtApi
{
    private static nint* s_table;

    private static nint* Table
    {
        get
        {
            if (s_table is null)
            {
                NativeEngines.InitializeOnnxRuntime();
                s_table = (nint*)NativeEngines.OnnxRuntime.Api;
            }
            return s_table;
        }
    }

    internal static nint Slot(int index) => Table[index];

    /// <summary>Throws for a non-null status (after copying its code and message and releasing it).</summary>
    internal static void Check(void* status, string call)
    {
        if (status is null)
        {
            return;
        }
        nint* t = Table;
        int code;
        string message;
        try
        {
            code = ((delegate* unmanaged[Cdecl]<void*, int>)t[OrtSlot.GetErrorCode])(status);
            message = NativeEngines.ReadUtf8(((delegate* unmanaged[Cdecl]<void*, byte*>)t[OrtSlot.GetErrorMessage])(status)) ?? "";
        }
        finally
        {
            ((delegate* unmanaged[Cdecl]<void*, void>)t[OrtSlot.ReleaseStatus])(status);
        }
        throw new OnnxRuntimeException((OrtErrorCode)code, call, message);
    }

    /// <summary>A NUL-terminated UTF-8 copy of <paramref name="text"/> (ORTCHAR_T is char on Linux).</summary>
    internal static byte[] Utf8(string text)
    {
        byte[] bytes = new byte[System.Text.Encoding.UTF8.GetByteCount(text) + 1];
        System.Text.Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }

    // ---- releases (void functions) ----

    internal static void Release(int slot, nint handle) => ((delegate* unmanaged[Cdecl]<nint, void>)Table[slot])(handle);

    // ---- environment and session options ----

    internal static nint CreateEnv(int logLevel, string logId)
    {
        nint env;
        fixed (byte* id = Utf8(logId))
        {
            Check(((delegate* unmanaged[Cdecl]<int, byte*, nint*, void*>)Table[OrtSlot.CreateEnv])(logLevel, id, &env), "CreateEnv");
        }
        return env;
    }

    internal static nint CreateSessionOptions()
    {
        nint options;
        Check(((delegate* unmanaged[Cdecl]<nint*, void*>)Table[OrtSlot.CreateSessionOptions])(&options), "CreateSessionOptions");
        return options;
    }

    internal static void SetIntOption(int slot, OrtSessionOptionsHandle options, int value, string call)
    {
        bool added = false;
        options.DangerousAddRef(ref added);
        try
        {
            Check(((delegate* unmanaged[Cdecl]<nint, int, void*>)Table[slot])(options.DangerousGetHandle(), value), call);
        }
        finally
        {
            options.DangerousRelease();
        }
    }

    internal static void AddSessionConfigEntry(OrtSessionOptionsHandle options, string key, string value)
    {
        fixed (byte* k = Utf8(key))
        fixed (byte* v = Utf8(value))
        {
            Check(((delegate* unmanaged[Cdecl]<nint, byte*, byte*, void*>)Table[OrtSlot.AddSessionConfigEntry])(options.DangerousGetHandle(), k, v), "AddSessionConfigEntry");
        }
        GC.KeepAlive(options);
    }

    internal static string[] GetAvailableProviders()
    {
        byte** names;
        int count;
        Check(((delegate* unmanaged[Cdecl]<byte***, int*, void*>)Table[OrtSlot.GetAvailableProviders])(&names, &count), "GetAvailableProviders");
        try
        {
            var result = new string[count];
            for (int i = 0; i < count; i++)
            {
                result[i] = NativeEngines.ReadUtf8(names[i]) ?? "";
            }
            return result;
        }
        finally
        {
            Check(((delegate* unmanaged[Cdecl]<byte**, int, void*>)Table[OrtSlot.ReleaseAvailableProviders])(names, count), "ReleaseAvailableProviders");
        }
    }

    // ---- execution providers ----

    /// <summary>
    /// Creates TensorRT (V2) provider options, applies <paramref name="keys"/>/<paramref name="values"/> and appends
    /// the provider. The options object is released whatever happens.
    /// </summary>
    internal static void AppendTensorRt(OrtSessionOptionsHandle options, IReadOnlyList<string> keys, IReadOnlyList<string> values) =>
        AppendV2(options, keys, values, OrtSlot.CreateTensorRTProviderOptions, OrtSlot.UpdateTensorRTProviderOptions,
            OrtSlot.SessionOptionsAppendExecutionProviderTensorRtV2, OrtSlot.ReleaseTensorRTProviderOptions, "TensorRT");

    /// <summary>The CUDA (V2) counterpart of <see cref="AppendTensorRt"/>.</summary>
    internal static void AppendCuda(OrtSessionOptionsHandle options, IReadOnlyList<string> keys, IReadOnlyList<string> values) =>
        AppendV2(options, keys, values, OrtSlot.CreateCudaProviderOptions, OrtSlot.UpdateCudaProviderOptions,
            OrtSlot.SessionOptionsAppendExecutionProviderCudaV2, OrtSlot.ReleaseCudaProviderOptions, "CUDA");

    private static void AppendV2(OrtSessionOptionsHandle options, IReadOnlyList<string> keys, IReadOnlyList<string> values,
        int create, int update, int append, int release, string name)
    {
        nint providerOptions;
        Check(((delegate* unmanaged[Cdecl]<nint*, void*>)Table[create])(&providerOptions), $"Create{name}ProviderOptions");
        try
        {
            if (keys.Count > 0)
            {
                using var k = new Utf8Array(keys);
                using var v = new Utf8Array(values);
                Check(((delegate* unmanaged[Cdecl]<nint, byte**, byte**, nuint, void*>)Table[update])(providerOptions, k.Pointers, v.Pointers, (nuint)keys.Count), $"Update{name}ProviderOptions");
            }
            Check(((delegate* unmanaged[Cdecl]<nint, nint, void*>)Table[append])(options.DangerousGetHandle(), providerOptions), $"SessionOptionsAppendExecutionProvider_{name}_V2");
            GC.KeepAlive(options);
        }
        finally
        {
            ((delegate* unmanaged[Cdecl]<nint, void>)Table[release])(providerOptions);
        }
    }

    // ---- sessions ----

    internal static nint CreateSession(OrtEnvHandle env, string path, OrtSessionOptionsHandle options)
    {
        nint session;
        fixed (byte* p = Utf8(path))
        {
            Check(((delegate* unmanaged[Cdecl]<nint, byte*, nint, nint*, void*>)Table[OrtSlot.CreateSession])(env.DangerousGetHandle(), p, options.DangerousGetHandle(), &session), "CreateSession");
        }
        GC.KeepAlive(env);
        GC.KeepAlive(options);
        return session;
    }

    internal static nint CreateSessionFromArray(OrtEnvHandle env, ReadOnlySpan<byte> model, OrtSessionOptionsHandle options)
    {
        nint session;
        fixed (byte* p = model)
        {
            Check(((delegate* unmanaged[Cdecl]<nint, byte*, nuint, nint, nint*, void*>)Table[OrtSlot.CreateSessionFromArray])(env.DangerousGetHandle(), p, (nuint)model.Length, options.DangerousGetHandle(), &session), "CreateSessionFromArray");
        }
        GC.KeepAlive(env);
        GC.KeepAlive(options);
        return session;
    }

    internal static int GetCount(OrtSessionHandle session, bool inputs)
    {
        nuint count;
        Check(((delegate* unmanaged[Cdecl]<nint, nuint*, void*>)Table[inputs ? OrtSlot.SessionGetInputCount : OrtSlot.SessionGetOutputCount])(session.DangerousGetHandle(), &count), inputs ? "SessionGetInputCount" : "SessionGetOutputCount");
        GC.KeepAlive(session);
        return checked((int)count);
    }

    internal static string GetName(OrtSessionHandle session, bool input, int index)
    {
        nint allocator;
        Check(((delegate* unmanaged[Cdecl]<nint*, void*>)Table[OrtSlot.GetAllocatorWithDefaultOptions])(&allocator), "GetAllocatorWithDefaultOptions");
        byte* name;
        Check(((delegate* unmanaged[Cdecl]<nint, nuint, nint, byte**, void*>)Table[input ? OrtSlot.SessionGetInputName : OrtSlot.SessionGetOutputName])(session.DangerousGetHandle(), (nuint)index, allocator, &name), input ? "SessionGetInputName" : "SessionGetOutputName");
        GC.KeepAlive(session);
        try
        {
            return NativeEngines.ReadUtf8(name) ?? "";
        }
        finally
        {
            Check(((delegate* unmanaged[Cdecl]<nint, void*, void*>)Table[OrtSlot.AllocatorFree])(allocator, name), "AllocatorFree");
        }
    }

    /// <summary>Element type and shape (-1 for a symbolic dimension) of input/output <paramref name="index"/>; null if it is not a tensor.</summary>
    internal static (OnnxElementType Type, long[] Shape)? GetTypeInfo(OrtSessionHandle session, bool input, int index)
    {
        nint info;
        Check(((delegate* unmanaged[Cdecl]<nint, nuint, nint*, void*>)Table[input ? OrtSlot.SessionGetInputTypeInfo : OrtSlot.SessionGetOutputTypeInfo])(session.DangerousGetHandle(), (nuint)index, &info), input ? "SessionGetInputTypeInfo" : "SessionGetOutputTypeInfo");
        GC.KeepAlive(session);
        using var typeInfo = new OrtTypeInfoHandle(info);
        int onnxType;
        Check(((delegate* unmanaged[Cdecl]<nint, int*, void*>)Table[OrtSlot.GetOnnxTypeFromTypeInfo])(info, &onnxType), "GetOnnxTypeFromTypeInfo");
        const int OnnxTypeTensor = 1;
        if (onnxType != OnnxTypeTensor)
        {
            return null;
        }
        nint tensorInfo; // owned by the type info
        Check(((delegate* unmanaged[Cdecl]<nint, nint*, void*>)Table[OrtSlot.CastTypeInfoToTensorInfo])(info, &tensorInfo), "CastTypeInfoToTensorInfo");
        return ReadTensorInfo(tensorInfo);
    }

    private static (OnnxElementType Type, long[] Shape) ReadTensorInfo(nint tensorInfo)
    {
        int type;
        Check(((delegate* unmanaged[Cdecl]<nint, int*, void*>)Table[OrtSlot.GetTensorElementType])(tensorInfo, &type), "GetTensorElementType");
        nuint rank;
        Check(((delegate* unmanaged[Cdecl]<nint, nuint*, void*>)Table[OrtSlot.GetDimensionsCount])(tensorInfo, &rank), "GetDimensionsCount");
        var shape = new long[(int)rank];
        fixed (long* s = shape)
        {
            Check(((delegate* unmanaged[Cdecl]<nint, long*, nuint, void*>)Table[OrtSlot.GetDimensions])(tensorInfo, s, rank), "GetDimensions");
        }
        return ((OnnxElementType)type, shape);
    }

    // ---- values ----

    internal static nint CreateCpuMemoryInfo()
    {
        const int ArenaAllocator = 1, DefaultMemType = 0;
        nint info;
        Check(((delegate* unmanaged[Cdecl]<int, int, nint*, void*>)Table[OrtSlot.CreateCpuMemoryInfo])(ArenaAllocator, DefaultMemType, &info), "CreateCpuMemoryInfo");
        return info;
    }

    /// <summary>An OrtValue over caller-owned memory (no copy); the memory must stay pinned while the value lives.</summary>
    internal static nint CreateTensorWithData(OrtMemoryInfoHandle memoryInfo, void* data, long bytes, ReadOnlySpan<long> shape, OnnxElementType type)
    {
        nint value;
        fixed (long* s = shape)
        {
            Check(((delegate* unmanaged[Cdecl]<nint, void*, nuint, long*, nuint, int, nint*, void*>)Table[OrtSlot.CreateTensorWithDataAsOrtValue])(
                memoryInfo.DangerousGetHandle(), data, (nuint)bytes, s, (nuint)shape.Length, (int)type, &value), "CreateTensorWithDataAsOrtValue");
        }
        GC.KeepAlive(memoryInfo);
        return value;
    }

    internal static (OnnxElementType Type, long[] Shape) GetValueTypeAndShape(nint value)
    {
        nint info;
        Check(((delegate* unmanaged[Cdecl]<nint, nint*, void*>)Table[OrtSlot.GetTensorTypeAndShape])(value, &info), "GetTensorTypeAndShape");
        try
        {
            return ReadTensorInfo(info);
        }
        finally
        {
            Release(OrtSlot.ReleaseTensorTypeAndShapeInfo, info);
        }
    }

    internal static void* GetTensorData(nint value)
    {
        void* data;
        Check(((delegate* unmanaged[Cdecl]<nint, void**, void*>)Table[OrtSlot.GetTensorMutableData])(value, &data), "GetTensorMutableData");
        return data;
    }

    /// <summary>
    /// <c>Run</c> with the session and every input value ref-counted for the duration of the native call: a Dispose
    /// meanwhile (from another thread) marks them closed, and the last release, after ORT returns, frees them.
    /// A session already disposed is an <see cref="ObjectDisposedException"/>.
    /// </summary>
    internal static void Run(OrtSessionHandle session, byte** inputNames, IReadOnlyList<OrtValueHandle> inputs, byte** outputNames, int outputCount, nint* outputs)
    {
        var held = new List<SafeHandle>(inputs.Count + 1);
        try
        {
            AddRef(session, held);
            var raw = stackalloc nint[Math.Max(1, inputs.Count)];
            for (int i = 0; i < inputs.Count; i++)
            {
                AddRef(inputs[i], held);
                raw[i] = inputs[i].DangerousGetHandle();
            }
            Check(((delegate* unmanaged[Cdecl]<nint, nint, byte**, nint*, nuint, byte**, nuint, nint*, void*>)Table[OrtSlot.Run])(
                session.DangerousGetHandle(), 0, inputNames, raw, (nuint)inputs.Count, outputNames, (nuint)outputCount, outputs), "Run");
        }
        finally
        {
            foreach (var h in held)
            {
                h.DangerousRelease();
            }
        }
    }

    private static void AddRef(SafeHandle handle, List<SafeHandle> held)
    {
        bool added = false;
        handle.DangerousAddRef(ref added);
        if (added)
        {
            held.Add(handle);
        }
    }
}

/// <summary>An array of NUL-terminated UTF-8 strings in native memory, for <c>const char* const*</c> parameters.</summary>
internal sealed unsafe class Utf8Array : IDisposable
{
    private readonly nint[] _strings;

    public Utf8Array(IReadOnlyList<string> items)
    {
        _strings = new nint[items.Count];
        Pointers = (byte**)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)Math.Max(1, items.Count), (nuint)sizeof(nint));
        for (int i = 0; i < items.Count; i++)
        {
            byte[] utf8 = OrtApi.Utf8(items[i]);
            var p = (byte*)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)utf8.Length);
            utf8.CopyTo(new Span<byte>(p, utf8.Length));
            _strings[i] = (nint)p;
            Pointers[i] = p;
        }
    }

    public byte** Pointers { get; }

    public void Dispose()
    {
        foreach (nint p in _strings)
        {
            System.Runtime.InteropServices.NativeMemory.Free((void*)p);
        }
        System.Runtime.InteropServices.NativeMemory.Free(Pointers);
    }
}
