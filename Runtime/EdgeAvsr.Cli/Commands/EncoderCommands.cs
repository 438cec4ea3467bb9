using System.CommandLine;
using System.Globalization;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Encoders;
using EdgeAvsr.Runtime.Onnx;

namespace EdgeAvsr.Cli.Commands;

/// <summary><c>edgeavsr encode</c>: an encoder ONNX model on ONNX Runtime with the execution providers in the order given.</summary>
internal static class EncoderCommands
{
    private static readonly Option<string> s_model = new("--model") { Description = "Encoder .onnx: audio (input_features [1,80,3000]) or video (video [1,1,T,88,88])", Required = true };
    private static readonly Option<string> s_input = new("--input") { Description = "Log-mel .npy [80,3000] (from `features`) or mouth crops .npy [T,88,88] (from `frames`)", Required = true };
    private static readonly Option<string> s_out = new("--out") { Description = "Encoder states, .npy float32 [1, T, D]", Required = true };
    private static readonly Option<double?> s_seconds = new("--audio-seconds") { Description = "Audio duration: keeps the first max(int(S*50), 25) states (default: duration_seconds of the .json beside --input)" };

    public static Command CreateEncode()
    {
        var command = new Command("encode", "Run an audio or video encoder (ONNX) on features; the model's input tells which");
        foreach (var o in new Option[] { s_model, s_input, s_out, s_seconds })
        {
            command.Options.Add(o);
        }
        OrtCliOptions.AddTo(command);
        command.SetAction(parse => CliAction.Run(() =>
        {
            var result = EncodeJob.Run(new EncodeRequest
            {
                ModelPath = parse.GetValue(s_model)!,
                InputPath = parse.GetValue(s_input)!,
                OutputPath = parse.GetValue(s_out)!,
                AudioSeconds = parse.GetValue(s_seconds),
                Session = OrtCliOptions.Read(parse),
            });
            Console.WriteLine($"{(result.Kind == EncoderKind.Audio ? "audio" : "video")} encoder on {result.Provider.ToText()}: {result.States} states x {result.Dim}");
            if (result.Trim is not null)
            {
                Console.WriteLine(result.Trim);
            }
            Console.WriteLine($"wrote {result.OutputPath}");
            return ExitCodes.Success;
        }));
        return command;
    }
}

/// <summary>The ONNX Runtime options shared by every verb that runs a model: provider order, threads, TensorRT/CUDA settings.</summary>
internal static class OrtCliOptions
{
    private static readonly Option<string> s_ep = new("--ep") { Description = "Execution providers in the order to try, e.g. tensorrt,cuda,cpu; one that fails is logged and the next LISTED one tried", DefaultValueFactory = _ => "cpu" };
    private static readonly Option<int> s_threads = new("--threads") { Description = "ORT intra-op threads (0 = ORT's default)", DefaultValueFactory = _ => 0 };
    private static readonly Option<int> s_interThreads = new("--inter-threads") { Description = "ORT inter-op threads (0 = ORT's default)", DefaultValueFactory = _ => 0 };
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
        Providers = OnnxSessionOptions.ParseProviders(parse.GetValue(s_ep)!),
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
