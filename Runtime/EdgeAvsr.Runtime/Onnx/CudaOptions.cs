using System.Globalization;

namespace EdgeAvsr.Runtime.Onnx;

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
