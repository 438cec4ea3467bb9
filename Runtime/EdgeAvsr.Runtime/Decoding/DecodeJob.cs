using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Interop.Llama;

namespace EdgeAvsr.Runtime.Decoding;

/// <summary>What <c>edgeavsr decode</c> / <c>edgeavsr generate</c> ask for.</summary>
public sealed record DecodeRequest
{
    public required string ModelPath { get; init; }

    /// <summary>Text prompt (generate); null for an AVSR prompt (decode).</summary>
    public string? PromptText { get; init; }

    public AvsrTask Task { get; init; } = AvsrTask.Avsr;

    /// <summary>Projector outputs, .npy float32 [T, n_embd_inp] (or [1, T, n_embd_inp]).</summary>
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
        var audio = request.AudioTokensPath is null ? null : ReadTokens(request.AudioTokensPath);
        var video = request.VideoTokensPath is null ? null : ReadTokens(request.VideoTokensPath);
        var engine = LlamaRuntime.Initialize();
        report?.Invoke($"llama.cpp {engine.Version}: {string.Join(", ", engine.Files)}");
        using var model = DecoderModel.Load(request.ModelPath, request.Backend);
        report?.Invoke($"llama.cpp backend: {model.Backend}");
        report?.Invoke($"model: {model.Description}, {model.LayerCount} layers, n_embd_inp {model.InputWidth}, vocabulary {model.VocabularySize}");
        if (audio is not null && audio.Columns != model.InputWidth)
        {
            throw new EdgeAvsrException($"{request.AudioTokensPath}: audio tokens have width {audio.Columns}, {Path.GetFileName(request.ModelPath)} takes {model.InputWidth} (llama_model_n_embd_inp)");
        }
        if (video is not null && video.Columns != model.InputWidth)
        {
            throw new EdgeAvsrException($"{request.VideoTokensPath}: video tokens have width {video.Columns}, {Path.GetFileName(request.ModelPath)} takes {model.InputWidth} (llama_model_n_embd_inp)");
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

    private static FloatMatrix ReadTokens(string path)
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
            throw new EdgeAvsrException($"{path}: shape [{string.Join(", ", array.Shape)}], expected [T, d] or [1, T, d] projector tokens");
        }
        if (s[0] == 0)
        {
            throw new EdgeAvsrException($"{path}: empty input (0 tokens)");
        }
        for (int i = 0; i < array.Data.Length; i++)
        {
            if (!float.IsFinite(array.Data[i]))
            {
                throw new EdgeAvsrException($"{path}: value {i} is {array.Data[i]} (tokens must be finite)");
            }
        }
        return new FloatMatrix(array.Data, (int)s[0], (int)s[1]);
    }
}
