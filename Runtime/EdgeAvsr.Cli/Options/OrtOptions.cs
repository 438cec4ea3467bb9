using System.CommandLine;
using System.Globalization;
using EdgeAvsr.Runtime.Onnx;

namespace EdgeAvsr.Cli.Options;

/// <summary>The ONNX Runtime options of every verb that runs a model: provider order, threads, TensorRT/CUDA settings.</summary>
internal static class OrtOptions
{
    private static readonly Option<string> s_ep = CommonOptions.Providers(
        "Execution providers in the order to try, e.g. tensorrt,cuda,cpu; one that fails is logged and the next LISTED one tried", "cpu");
    private static readonly Option<int> s_threads = CommonOptions.Threads("ORT intra-op threads (0 = ORT's default)");
    private static readonly Option<int> s_interThreads = new("--inter-threads")
    {
        Description = "ORT inter-op threads (0 = ORT's default)",
        DefaultValueFactory = _ => 0,
    };
    private static readonly Option<bool> s_fp16 = new("--trt-fp16") { Description = "TensorRT: allow FP16 kernels" };
    private static readonly Option<bool> s_int8 = new("--trt-int8") { Description = "TensorRT: allow INT8 kernels" };
    private static readonly Option<string?> s_engineCache = new("--trt-engine-cache") { Description = "TensorRT: folder for cached engines" };
    private static readonly Option<string?> s_timingCache = new("--trt-timing-cache") { Description = "TensorRT: folder for the timing cache" };
    private static readonly Option<long?> s_workspace = new("--trt-workspace") { Description = "TensorRT: max workspace bytes" };
    private static readonly Option<int?> s_dla = new("--trt-dla-core") { Description = "TensorRT: DLA core (Jetson)" };
    private static readonly Option<string[]> s_plugins = new("--trt-plugin") { Description = "TensorRT: extra plugin library to load (repeatable)" };
    private static readonly Option<int> s_device = new("--gpu") { Description = "CUDA/TensorRT device id", DefaultValueFactory = _ => 0 };

    public static void AddTo(Command command)
    {
        Option[] all = [s_ep, s_threads, s_interThreads, s_fp16, s_int8, s_engineCache, s_timingCache, s_workspace, s_dla, s_plugins, s_device];
        foreach (var o in all)
        {
            command.Options.Add(o);
        }
    }

    public static OnnxSessionOptions Read(ParseResult parse) => new()
    {
        Providers = CommonOptions.ParseProviders(parse.GetValue(s_ep)!),
        ProvidersName = "--ep",
        IntraOpThreads = parse.GetValue(s_threads),
        InterOpThreads = parse.GetValue(s_interThreads),
        TensorRt = new TensorRtOptions
        {
            DeviceId = parse.GetValue(s_device),
            Fp16 = parse.GetValue(s_fp16),
            Int8 = parse.GetValue(s_int8),
            EngineCacheDirectory = parse.GetValue(s_engineCache),
            TimingCacheDirectory = parse.GetValue(s_timingCache),
            MaxWorkspaceBytes = parse.GetValue(s_workspace),
            DlaCore = parse.GetValue(s_dla),
            ExtraPluginLibraries = parse.GetValue(s_plugins) ?? [],
        },
        Cuda = new CudaOptions { DeviceId = parse.GetValue(s_device) },
        Log = line => Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"edgeavsr: {line}")),
    };
}
