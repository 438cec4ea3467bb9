using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Runtime.Decoding;

/// <summary>What <c>edgeavsr decode</c> / <c>edgeavsr generate</c> ask for.</summary>
public sealed record DecodeRequest
{
    public required string ModelPath { get; init; }

    /// <summary>Text prompt (generate); null for an AVSR prompt (decode).</summary>
    public string? PromptText { get; init; }

    public AvsrTask Task { get; init; } = AvsrTask.Avsr;

    /// <summary>Projector outputs, .npy float32 [T, n_embd] (or [1, T, n_embd]).</summary>
    public string? AudioTokensPath { get; init; }

    public string? VideoTokensPath { get; init; }

    public int MaxNewTokens { get; init; } = 32;

    public int Beams { get; init; } = 1;

    public int Threads { get; init; }

    public bool ExactNumerics { get; init; }

    public LlamaBackendKind Backend { get; init; } = LlamaBackendKind.Auto;

    /// <summary>Where to write the first step's logits (.npy float32 [n_vocab]).</summary>
    public string? LogitsOutPath { get; init; }
}

/// <summary>Loads the model and inputs, checks them, decodes, writes the logits if asked.</summary>
public static class DecodeJob
{
    public static DecodeResult Run(DecodeRequest request, Action<string>? report = null, Action<DecodedToken>? onToken = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        // Inputs first: a bad .npy costs nothing.
        var audio = request.AudioTokensPath is null ? null : ProjectJob.ReadFeatures(request.AudioTokensPath, "tokens");
        var video = request.VideoTokensPath is null ? null : ProjectJob.ReadFeatures(request.VideoTokensPath, "tokens");
        var engine = LlamaEngine.Initialize();
        report?.Invoke($"llama.cpp {engine.Version}: {string.Join(", ", engine.Files)}");
        using var model = DecoderModel.Load(request.ModelPath, request.Backend);
        report?.Invoke($"llama.cpp backend: {model.Backend}");
        report?.Invoke($"model: {model.Description}, {model.LayerCount} layers, n_embd {model.InputWidth}, vocabulary {model.VocabularySize}");
        if (audio is not null && audio.Columns != model.InputWidth)
        {
            throw new EdgeAvsrException(
                $"{request.AudioTokensPath}: audio tokens have width {audio.Columns}, {Path.GetFileName(request.ModelPath)} takes {model.InputWidth} (n_embd)");
        }
        if (video is not null && video.Columns != model.InputWidth)
        {
            throw new EdgeAvsrException(
                $"{request.VideoTokensPath}: video tokens have width {video.Columns}, {Path.GetFileName(request.ModelPath)} takes {model.InputWidth} (n_embd)");
        }
        var prompt = request.PromptText is { } text ? DecoderPrompt.ForText(model, text) : DecoderPrompt.ForAvsr(model, request.Task, audio, video);
        using var decoder = new LlamaDecoder(model, new DecoderOptions { Threads = request.Threads, ExactNumerics = request.ExactNumerics });
        var result = decoder.Generate(prompt, new GenerationOptions
        {
            MaxNewTokens = request.MaxNewTokens,
            Beams = request.Beams,
            KeepFirstLogits = request.LogitsOutPath is not null,
        }, onToken);
        if (request.LogitsOutPath is { } path)
        {
            NpyFile.Write(path, result.FirstLogits, result.FirstLogits!.Length);
            report?.Invoke($"wrote {path}");
        }
        return result;
    }
}
