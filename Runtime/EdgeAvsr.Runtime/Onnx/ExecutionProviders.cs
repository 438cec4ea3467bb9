using System.Globalization;

namespace EdgeAvsr.Runtime.Onnx;

/// <summary>The execution providers this runtime can ask ONNX Runtime for.</summary>
public enum ExecutionProvider
{
    Cpu,
    Cuda,
    TensorRt,
}

/// <summary>
/// TensorRT execution-provider options, handed to ORT as its string keys (<c>trt_fp16_enable</c>,
/// <c>trt_engine_cache_path</c>, ...) through <c>OrtTensorRTProviderOptions.UpdateOptions</c>. Null means "ORT's default".
/// </summary>
public sealed record TensorRtOptions
{
    public int DeviceId { get; init; }

    public bool Fp16 { get; init; }

    public bool Int8 { get; init; }

    /// <summary>Folder for serialized engines (built once per GPU + TensorRT version); enables the engine cache.</summary>
    public string? EngineCacheDirectory { get; init; }

    /// <summary>Folder for the layer timing cache; enables it.</summary>
    public string? TimingCacheDirectory { get; init; }

    public long? MaxWorkspaceBytes { get; init; }

    /// <summary>DLA core to run on (Jetson Xavier/Orin); enables DLA.</summary>
    public int? DlaCore { get; init; }

    /// <summary>TensorRT plugin libraries to load beyond libnvinfer_plugin (custom layers of an exported encoder).</summary>
    public IReadOnlyList<string> ExtraPluginLibraries { get; init; } = [];

    /// <summary>Further <c>trt_*</c> keys passed through verbatim.</summary>
    public IReadOnlyDictionary<string, string> Extra { get; init; } = new Dictionary<string, string>();

    internal IReadOnlyList<KeyValuePair<string, string>> ToKeyValues()
    {
        var kv = new List<KeyValuePair<string, string>>
        {
            new("device_id", DeviceId.ToString(CultureInfo.InvariantCulture)),
            new("trt_fp16_enable", Fp16 ? "1" : "0"),
            new("trt_int8_enable", Int8 ? "1" : "0"),
        };
        if (EngineCacheDirectory is not null)
        {
            kv.Add(new("trt_engine_cache_enable", "1"));
            kv.Add(new("trt_engine_cache_path", EngineCacheDirectory));
        }
        if (TimingCacheDirectory is not null)
        {
            kv.Add(new("trt_timing_cache_enable", "1"));
            kv.Add(new("trt_timing_cache_path", TimingCacheDirectory));
        }
        if (MaxWorkspaceBytes is long ws)
        {
            kv.Add(new("trt_max_workspace_size", ws.ToString(CultureInfo.InvariantCulture)));
        }
        if (DlaCore is int dla)
        {
            kv.Add(new("trt_dla_enable", "1"));
            kv.Add(new("trt_dla_core", dla.ToString(CultureInfo.InvariantCulture)));
        }
        if (ExtraPluginLibraries.Count > 0)
        {
            // ORT splits this one value at ';' and loads each library before building engines.
            kv.Add(new("trt_extra_plugin_lib_paths", string.Join(";", ExtraPluginLibraries)));
        }
        kv.AddRange(Extra);
        return kv;
    }
}

/// <summary>CUDA execution-provider options (the keys of <c>OrtCUDAProviderOptions.UpdateOptions</c>).</summary>
public sealed record CudaOptions
{
    public int DeviceId { get; init; }

    /// <summary>Further keys passed through verbatim (<c>gpu_mem_limit</c>, <c>cudnn_conv_algo_search</c>, ...).</summary>
    public IReadOnlyDictionary<string, string> Extra { get; init; } = new Dictionary<string, string>();

    internal IReadOnlyList<KeyValuePair<string, string>> ToKeyValues()
    {
        var kv = new List<KeyValuePair<string, string>> { new("device_id", DeviceId.ToString(CultureInfo.InvariantCulture)) };
        kv.AddRange(Extra);
        return kv;
    }
}

/// <summary>How to create an <see cref="OnnxSession"/>.</summary>
public sealed record OnnxSessionOptions
{
    /// <summary>
    /// Providers in the order to try them. A provider that cannot be appended is logged with ORT's reason and
    /// the next one is tried; if none is left the session is not created. The CPU provider is only used when listed.
    /// </summary>
    public IReadOnlyList<ExecutionProvider> Providers { get; init; } = [ExecutionProvider.Cpu];

    /// <summary>Threads inside one operator; 0 = ORT's default (one per physical core).</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>Threads across independent operators; 0 = ORT's default.</summary>
    public int InterOpThreads { get; init; }

    public TensorRtOptions TensorRt { get; init; } = new();

    public CudaOptions Cuda { get; init; } = new();

    /// <summary>
    /// Session configuration entries passed to <c>SessionOptions.AddSessionConfigEntry</c> (e.g. <c>session.intra_op.allow_spinning</c> = "0").
    /// </summary>
    public IReadOnlyDictionary<string, string> ConfigEntries { get; init; } = new Dictionary<string, string>();

    /// <summary>What the provider list is called in <see cref="Log"/> lines (a command line passes its flag).</summary>
    public string ProvidersName { get; init; } = "providers";

    /// <summary>Receives one line per provider decision (failures with ORT's reason, the provider used).</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Parses <c>tensorrt,cuda,cpu</c> (any order, no repeats); errors name <paramref name="optionName"/>.</summary>
    public static IReadOnlyList<ExecutionProvider> ParseProviders(string text, string optionName = "providers")
    {
        ArgumentNullException.ThrowIfNull(text);
        var list = new List<ExecutionProvider>();
        foreach (string part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            ExecutionProvider p = part.ToLowerInvariant() switch
            {
                "cpu" => ExecutionProvider.Cpu,
                "cuda" => ExecutionProvider.Cuda,
                "tensorrt" or "trt" => ExecutionProvider.TensorRt,
                _ => throw new EdgeAvsrException(optionName, name => $"{name} '{part}' is not an execution provider (tensorrt, cuda, cpu)"),
            };
            if (list.Contains(p))
            {
                throw new EdgeAvsrException(optionName, name => $"{name} lists '{part}' twice");
            }
            list.Add(p);
        }
        if (list.Count == 0)
        {
            throw new EdgeAvsrException(optionName, name => $"{name} is empty; list providers in order, e.g. tensorrt,cuda,cpu");
        }
        return list;
    }
}

public static class ExecutionProviderExtensions
{
    public static string ToText(this ExecutionProvider p) => p switch
    {
        ExecutionProvider.Cpu => "cpu",
        ExecutionProvider.Cuda => "cuda",
        ExecutionProvider.TensorRt => "tensorrt",
        _ => p.ToString(),
    };
}
