using System.Globalization;

namespace EdgeAvsr.Runtime.Onnx;

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
