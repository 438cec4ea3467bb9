namespace EdgeAvsr.Runtime.Interop.Llama;

/// <summary>Which ggml devices a model runs on.</summary>
public enum LlamaBackendKind
{
    /// <summary>CUDA when a GPU device is registered, else CPU (the choice is reported, never silent).</summary>
    Auto,
    Cpu,
    /// <summary>CUDA only: an error when no GPU device is registered.</summary>
    Cuda,
}

public static class LlamaBackendKinds
{
    /// <summary><c>auto</c>, <c>cpu</c> or <c>cuda</c> as given to <paramref name="option"/>.</summary>
    public static LlamaBackendKind Parse(string text, string option = "--backend") => text?.ToUpperInvariant() switch
    {
        "AUTO" => LlamaBackendKind.Auto,
        "CPU" => LlamaBackendKind.Cpu,
        "CUDA" => LlamaBackendKind.Cuda,
        _ => throw new EdgeAvsrException($"{option} '{text}' is not auto, cpu or cuda"),
    };
}

/// <summary>The devices chosen for a model and why.</summary>
/// <param name="Kind">"CPU" or "CUDA".</param>
/// <param name="Devices">The ggml devices used, "name (description)".</param>
/// <param name="Reason">How the choice was made.</param>
public sealed record LlamaBackendChoice(string Kind, IReadOnlyList<string> Devices, string Reason)
{
    /// <summary>GPU devices to offload to (empty for CPU: llama.cpp then keeps every layer on the CPU).</summary>
    internal nint[] OffloadDevices { get; init; } = [];

    public override string ToString() => $"{Kind} [{string.Join("; ", Devices)}] ({Reason})";
}

/// <summary>
/// Explicit start-up of the llama.cpp binding: loads the engine (<see cref="NativeEngines.InitializeLlama"/>),
/// binds the function pointers, installs the log callback and checks the ABI against the native defaults
/// (a different llama.cpp build fails here with a clear message instead of corrupting memory later).
/// </summary>
public static unsafe class LlamaRuntime
{
    private static readonly Lock s_gate = new();
    private static NativeEngineInfo? s_info;

    /// <summary>Idempotent; returns what was loaded (files, version, devices).</summary>
    public static NativeEngineInfo Initialize()
    {
        lock (s_gate)
        {
            if (s_info is not null)
            {
                return s_info;
            }
            LlamaLibrary.EarlyLogCallback = LlamaLog.CallbackPointer;
            NativeEngines.InitializeLlama();
            var lib = NativeEngines.Llama;
            LlamaApi.Bind(lib);
            LlamaLog.Install();
            string? mismatch = CheckDefaults();
            if (mismatch is not null)
            {
                throw new EdgeAvsrException($"llama.cpp ABI mismatch: {mismatch}; EdgeAvsr is built for llama.cpp v0.5.0 (node-llama-cpp 3.22.1)");
            }
            s_info = lib.Info;
            return s_info;
        }
    }

    /// <summary>Compares the native default parameter structs with the values documented for v0.5.0; null if equal.</summary>
    internal static string? CheckDefaults()
    {
        var m = LlamaApi.llama_model_default_params();
        var c = LlamaApi.llama_context_default_params();
        var s = LlamaApi.llama_sampler_chain_default_params();
        var problems = new List<string>();
        void Expect<T>(string name, T actual, T expected)
        {
            if (!EqualityComparer<T>.Default.Equals(actual, expected))
            {
                problems.Add($"{name} = {actual}, expected {expected}");
            }
        }
        Expect("model.n_gpu_layers", m.NGpuLayers, -1);
        Expect("model.split_mode", m.SplitMode, 1);
        Expect("model.load_mode", m.LoadMode, -1);
        Expect("model.lazy_mode", m.LazyMode, 1);
        Expect("model.use_extra_bufts", m.UseExtraBufts, (byte)1);
        Expect("model.vocab_only", m.VocabOnly, (byte)0);
        Expect("model.load_mtp", m.LoadMtp, (byte)0);
        Expect("context.n_ctx", c.NCtx, 512u);
        Expect("context.n_batch", c.NBatch, 2048u);
        Expect("context.n_ubatch", c.NUbatch, 512u);
        Expect("context.n_seq_max", c.NSeqMax, 1u);
        Expect("context.n_outputs_max_per_seq", c.NOutputsMaxPerSeq, 1u);
        Expect("context.flash_attn_type", c.FlashAttnType, -1);
        Expect("context.defrag_thold", c.DefragThold, -1f);
        Expect("context.type_k", c.TypeK, LlamaEnums.GgmlTypeF16);
        Expect("context.type_v", c.TypeV, LlamaEnums.GgmlTypeF16);
        Expect("context.offload_kqv", c.OffloadKqv, (byte)1);
        Expect("context.kv_unified", c.KvUnified, (byte)0);
        Expect("context.samplers", c.Samplers, 0);
        Expect("context.ctx_other", c.CtxOther, 0);
        Expect("sampler_chain.no_perf", s.NoPerf, (byte)1);
        return problems.Count == 0 ? null : string.Join(", ", problems);
    }

    /// <summary>The registered ggml devices: (handle, type, "name (description)").</summary>
    internal static List<(nint Handle, int Type, string Name)> Devices()
    {
        Initialize();
        var list = new List<(nint, int, string)>();
        nuint n = LlamaApi.ggml_backend_dev_count();
        for (nuint i = 0; i < n; i++)
        {
            nint dev = LlamaApi.ggml_backend_dev_get(i);
            string name = $"{NativeEngines.ReadUtf8(LlamaApi.ggml_backend_dev_name(dev))} ({NativeEngines.ReadUtf8(LlamaApi.ggml_backend_dev_description(dev))})";
            list.Add((dev, LlamaApi.ggml_backend_dev_type(dev), name));
        }
        return list;
    }

    /// <summary>Chooses devices for <paramref name="requested"/>; CUDA requested without a GPU device is an error.</summary>
    public static LlamaBackendChoice ChooseBackend(LlamaBackendKind requested)
    {
        var devices = Devices();
        var gpus = devices.Where(d => d.Type is LlamaEnums.DeviceTypeGpu or LlamaEnums.DeviceTypeIgpu).ToList();
        var cpus = devices.Where(d => d.Type == LlamaEnums.DeviceTypeCpu).ToList();
        string registered = string.Join("; ", devices.Select(d => d.Name));
        switch (requested)
        {
            case LlamaBackendKind.Cuda when gpus.Count == 0:
                throw new EdgeAvsrException($"llama.cpp: CUDA was requested but only these devices are registered: {registered}; install the CUDA build of the engine (linux-arm64 / linux-x64-cuda) or choose the CPU backend");
            case LlamaBackendKind.Cuda:
                return new LlamaBackendChoice("CUDA", gpus.Select(d => d.Name).ToArray(), "requested") { OffloadDevices = gpus.Select(d => d.Handle).ToArray() };
            case LlamaBackendKind.Auto when gpus.Count > 0:
                return new LlamaBackendChoice("CUDA", gpus.Select(d => d.Name).ToArray(), "auto: GPU device registered") { OffloadDevices = gpus.Select(d => d.Handle).ToArray() };
            default:
                if (cpus.Count == 0)
                {
                    throw new EdgeAvsrException($"llama.cpp: no CPU device registered (devices: {registered})");
                }
                string reason = requested == LlamaBackendKind.Cpu ? "requested" : "auto: no GPU device registered";
                return new LlamaBackendChoice("CPU", cpus.Select(d => d.Name).ToArray(), reason);
        }
    }
}
