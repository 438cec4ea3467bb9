using System.CommandLine;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Cli.Commands;

/// <summary>What <c>edgeavsr project</c> asks for.</summary>
internal sealed record ProjectRequest
{
    public required string WeightsPath { get; init; }

    public SmopLayout? Layout { get; init; }

    public int? TopK { get; init; }

    public string? AudioPath { get; init; }

    public string? VideoPath { get; init; }

    public int? AudioPool { get; init; }

    public int? VideoPool { get; init; }

    /// <summary>Null: int8 for an INT8 file, fp32 otherwise.</summary>
    public ProjectorPrecision? Precision { get; init; }

    public int Threads { get; init; }

    public required string OutputDirectory { get; init; }
}

/// <summary><c>edgeavsr project</c>: reads encoder outputs (.npy), runs the projector, writes tokens and expert choices (.npy).</summary>
internal static class ProjectCommand
{
    public static Command Create()
    {
        var weights = new Option<string>("--weights")
        {
            Description = "Projector weights (.safetensors): the authors' state dict (F32/F16/BF16) or an EdgeAvsr INT8 projector file",
            Required = true,
        };
        var layout = CommonOptions.LayoutIfGiven("jejr | dejr | dedr (an INT8 file records its own)");
        var topK = new Option<int?>("--top-k") { Description = "Experts per token (an INT8 file records its own)" };
        var audio = new Option<string?>("--audio") { Description = "Audio encoder output, .npy float32 [T, D] or [1, T, D]" };
        var video = new Option<string?>("--video") { Description = "Video encoder output, .npy float32 [T, D] or [1, T, D]" };
        var audioPool = new Option<int?>("--audio-pool") { Description = "Audio average-pooling window (default 4)" };
        var videoPool = new Option<int?>("--video-pool") { Description = "Video average-pooling window (default 2)" };
        var precision = CommonOptions.PrecisionIfGiven("fp32 | int8 (default: int8 for an INT8 file, else fp32; int8 on a float file quantizes at load)");
        var threads = CommonOptions.Threads();
        var output = new Option<string>("--out") { Description = "Output folder", Required = true };
        var command = new Command("project", "Run the SMoP projector on encoder outputs; writes {audio,video}_tokens.npy and experts_{audio,video}.npy");
        foreach (var o in new Option[] { weights, layout, topK, audio, video, audioPool, videoPool, precision, threads, output })
        {
            command.Options.Add(o);
        }
        CommandActions.Set(command, parse =>
        {
            var (projector, result, written) = Run(new ProjectRequest
            {
                WeightsPath = parse.GetValue(weights)!,
                Layout = parse.GetValue(layout),
                TopK = parse.GetValue(topK),
                AudioPath = parse.GetValue(audio),
                VideoPath = parse.GetValue(video),
                AudioPool = parse.GetValue(audioPool),
                VideoPool = parse.GetValue(videoPool),
                Precision = parse.GetValue(precision),
                Threads = parse.GetValue(threads),
                OutputDirectory = parse.GetValue(output)!,
            });
            PrintSummary(projector, result);
            foreach (string f in written)
            {
                Console.WriteLine($"wrote {f}");
            }
            return ExitCodes.Success;
        });
        return command;
    }

    public static (SmopProjector Projector, ProjectorOutput Output, IReadOnlyList<string> Written) Run(ProjectRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.AudioPath is null && request.VideoPath is null)
        {
            throw new EdgeAvsrException("give --audio, --video or both");
        }
        ThreadCount.Check(request.Threads);
        // Inputs are read and checked before any work, so a bad file costs nothing.
        var audio = request.AudioPath is null ? null : NpyFeatures.Read(request.AudioPath);
        var video = request.VideoPath is null ? null : NpyFeatures.Read(request.VideoPath);
        var projector = Load(request);
        CheckFits(projector, Modality.Audio, audio, request.AudioPath, request.WeightsPath);
        CheckFits(projector, Modality.Video, video, request.VideoPath, request.WeightsPath);
        var output = projector.Project(audio, video);
        var written = new List<string>();
        foreach (var tokens in new[] { output.Audio, output.Video })
        {
            if (tokens is null)
            {
                continue;
            }
            string name = tokens.Modality.ToText();
            string tokenPath = Path.Combine(request.OutputDirectory, $"{name}_tokens.npy");
            string expertPath = Path.Combine(request.OutputDirectory, $"experts_{name}.npy");
            NpyFile.Write(tokenPath, tokens.Tokens.Data, tokens.Tokens.Rows, tokens.Tokens.Columns);
            NpyFile.Write(expertPath, tokens.Experts, tokens.Tokens.Rows, tokens.TopK);
            written.Add(tokenPath);
            written.Add(expertPath);
        }
        return (projector, output, written);
    }

    private static SmopProjector Load(ProjectRequest request)
    {
        var weights = SmopWeights.Load(request.WeightsPath, request.Layout);
        int topK = Setting(request.TopK, weights.Routing?.TopK, "top-k", "top_k", request.WeightsPath)
            ?? throw new EdgeAvsrException($"{request.WeightsPath}: a float projector file does not record top-k: pass --top-k");
        int audioPool = Setting(request.AudioPool, weights.Routing?.AudioPool, "audio-pool", "audio_pool", request.WeightsPath) ?? 4;
        int videoPool = Setting(request.VideoPool, weights.Routing?.VideoPool, "video-pool", "video_pool", request.WeightsPath) ?? 2;
        var precision = request.Precision ?? (weights.IsInt8 ? ProjectorPrecision.Int8 : ProjectorPrecision.Fp32);
        return SmopProjector.Create(weights, new SmopOptions
        {
            Routing = RoutingSettings.Create(topK, audioPool, videoPool),
            Precision = precision,
            Threads = request.Threads,
        });
    }

    // The projector's own check, with the two files the user gave named in the message.
    private static void CheckFits(SmopProjector projector, Modality modality, FloatMatrix? features, string? path, string weightsPath)
    {
        if (features is null)
        {
            return;
        }
        try
        {
            projector.CheckInput(modality, features.Columns);
        }
        catch (EdgeAvsrException e)
        {
            throw new EdgeAvsrException($"{path}: {e.Message} ({weightsPath})", e);
        }
        var routing = projector.Options.Routing;
        int window = modality == Modality.Audio ? routing.AudioPool : routing.VideoPool;
        if (features.Rows < window)
        {
            throw new EdgeAvsrException($"{path}: {modality.ToText()} features have {features.Rows} frames, fewer than the pooling window of {window}: " +
                "nothing to project");
        }
    }

    // A value given on the command line must agree with what the file records; either may be absent.
    private static int? Setting(int? requested, int? recorded, string option, string key, string path)
    {
        if (requested is not null && recorded is not null && requested != recorded)
        {
            throw new EdgeAvsrException($"{path}: --{option} {requested} differs from the file's {key} {recorded}");
        }
        return requested ?? recorded;
    }

    internal static void PrintSummary(SmopProjector projector, ProjectorOutput output)
    {
        var o = projector.Options;
        Console.WriteLine($"projector: layout {projector.Layout.ToText()}, {o.Precision.ToText()} ({projector.KernelName}), top-{o.Routing.TopK}, "
            + $"pooling audio {o.Routing.AudioPool} video {o.Routing.VideoPool}");
        foreach (var t in new[] { output.Audio, output.Video })
        {
            if (t is not null)
            {
                Console.WriteLine($"{t.Modality.ToText()}: {t.Tokens.Rows} tokens x {t.Tokens.Columns}");
            }
        }
        foreach (var (name, rows) in output.ExpertRows)
        {
            Console.WriteLine($"{name}: expert rows computed [{string.Join(", ", rows)}] (total {rows.Sum()})");
        }
    }
}
