using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Runtime.Projector;

/// <summary>What <c>edgeavsr project</c> asks for.</summary>
public sealed record ProjectRequest
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

/// <summary>Reads encoder outputs (.npy), runs the projector, writes tokens and expert choices (.npy).</summary>
public static class ProjectJob
{
    public static (SmopProjector Projector, ProjectorOutput Output, IReadOnlyList<string> Written) Run(ProjectRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.AudioPath is null && request.VideoPath is null)
        {
            throw new EdgeAvsrException("give --audio, --video or both");
        }
        ThreadCount.Check(request.Threads);
        // Inputs are read and checked before any work, so a bad file costs nothing.
        var audio = request.AudioPath is null ? null : ReadFeatures(request.AudioPath);
        var video = request.VideoPath is null ? null : ReadFeatures(request.VideoPath);
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

    /// <summary>
    /// A .npy float32 <c>[T, D]</c> (a leading batch of one, <c>[1, T, D]</c>, is dropped), not empty, every value
    /// finite: encoder outputs here, projector tokens for <c>edgeavsr decode</c>; <paramref name="noun"/> names them in messages.
    /// </summary>
    public static FloatMatrix ReadFeatures(string path, string noun = "features")
    {
        if (!File.Exists(path))
        {
            throw new EdgeAvsrException($"{path}: file not found");
        }
        var array = NpyFile.ReadFloat32(path);
        long[] s = array.Shape;
        if (s.Length == 3 && s[0] == 1)
        {
            s = [s[1], s[2]];
        }
        if (s.Length != 2)
        {
            throw new EdgeAvsrException($"{path}: shape {TensorDTypes.FormatShape(array.Shape)}, expected [T, D] or [1, T, D] {noun}");
        }
        if (s[0] == 0 || s[1] == 0)
        {
            throw new EdgeAvsrException($"{path}: empty input, shape {TensorDTypes.FormatShape(array.Shape)}");
        }
        for (int i = 0; i < array.Data.Length; i++)
        {
            if (!float.IsFinite(array.Data[i]))
            {
                throw new EdgeAvsrException($"{path}: value {array.Data[i]} at row {i / s[1]}, column {i % s[1]}; {noun} must be finite");
            }
        }
        return new FloatMatrix(array.Data, checked((int)s[0]), checked((int)s[1]));
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
}
