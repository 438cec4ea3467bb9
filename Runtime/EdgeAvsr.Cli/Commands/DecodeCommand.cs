using System.CommandLine;
using System.Globalization;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Cli.Commands;

/// <summary>What <c>edgeavsr decode</c> / <c>edgeavsr generate</c> ask for.</summary>
internal sealed record DecodeRequest
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

    public DecoderThreadPolicy ThreadPolicy { get; init; }

    public LlamaBackendKind Backend { get; init; } = LlamaBackendKind.Auto;

    /// <summary>Where to write the first step's logits (.npy float32 [n_vocab]).</summary>
    public string? LogitsOutPath { get; init; }
}

/// <summary>
/// <c>edgeavsr decode</c>: an AVSR prompt from projector tokens through the llama.cpp decoder. Also the decoding that
/// <c>generate</c> shares: load the model and inputs, check them, decode, write the logits if asked.
/// </summary>
internal static class DecodeCommand
{
    internal static readonly Option<string> Model = new("--model") { Description = "Decoder GGUF (from edgeavsr-quantize llm)", Required = true };
    internal static readonly Option<int> MaxTokens = new("--max-tokens")
    {
        Description = "Most new tokens to generate (default 32, as the authors)",
        DefaultValueFactory = _ => 32,
    };
    internal static readonly Option<int> Beams = new("--beams")
    {
        Description = "1 = greedy; more = beam search as Hugging Face generate (the authors use 15)",
        DefaultValueFactory = _ => 1,
    };
    internal static readonly Option<int> Threads = CommonOptions.Threads("Worker threads (default: the cores available)");
    internal static readonly Option<DecoderThreadPolicy> ThreadPolicy = CommonOptions.ThreadPolicy();
    internal static readonly Option<bool> Exact = new("--exact-numerics")
    {
        Description = "Exact numerics: flash attention off, F32 KV cache (verification runs)",
    };
    internal static readonly Option<LlamaBackendKind> Backend =
        CommonOptions.Backend("auto | cpu | cuda (cuda without a GPU is an error, never a silent CPU run)");
    internal static readonly Option<string?> LogitsOut = new("--logits-out") { Description = "Write the first step's logits here (.npy float32 [n_vocab])" };

    public static Command Create()
    {
        var audio = new Option<string?>("--audio-tokens") { Description = "Audio tokens from edgeavsr project (.npy float32 [T, n_embd])" };
        var video = new Option<string?>("--video-tokens") { Description = "Video tokens from edgeavsr project (.npy float32 [T, n_embd])" };
        var task = CommonOptions.Task("asr | vsr | avsr");
        var command = new Command("decode",
            "Transcribe projector tokens: [BOS] <audio> A </audio> <video> V </video> prompt, then greedy or beam search");
        foreach (var o in new Option[] { Model, audio, video, task, MaxTokens, Beams, Threads, ThreadPolicy, Exact, Backend, LogitsOut })
        {
            command.Options.Add(o);
        }
        CommandActions.Set(command, parse => RunAndPrint(parse, new DecodeRequest
        {
            ModelPath = parse.GetValue(Model)!,
            Task = parse.GetValue(task),
            AudioTokensPath = parse.GetValue(audio),
            VideoTokensPath = parse.GetValue(video),
        }));
        return command;
    }

    /// <summary>Runs <paramref name="request"/> with the shared options' values and prints the text and timings.</summary>
    internal static int RunAndPrint(ParseResult parse, DecodeRequest request)
    {
        request = request with
        {
            MaxNewTokens = parse.GetValue(MaxTokens),
            Beams = parse.GetValue(Beams),
            Threads = parse.GetValue(Threads),
            ThreadPolicy = parse.GetValue(ThreadPolicy),
            ExactNumerics = parse.GetValue(Exact),
            LogitsOutPath = parse.GetValue(LogitsOut),
            Backend = parse.GetValue(Backend),
        };
        bool streaming = request.Beams == 1;
        var result = Run(request, line => Console.Error.WriteLine(line), streaming ? t => Console.Out.Write(t.Text) : null);
        if (streaming)
        {
            Console.Out.WriteLine();
        }
        else
        {
            Console.Out.WriteLine(result.Text);
        }
        var t = result.Timings;
        double tokensPerSecond = t.GeneratedPositions / Math.Max(t.Generation.TotalSeconds, 1e-9);
        string stop = result.Stop == StopReason.EndOfGeneration ? "end of generation" : "max tokens";
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{result.Tokens.Length} tokens ({stop}), score {result.Score:F4}; prefill {t.PromptPositions} positions in {t.Prefill.TotalMilliseconds:F1} ms, "
            + $"generation {t.GeneratedPositions} positions in {t.Generation.TotalMilliseconds:F1} ms ({tokensPerSecond:F1}/s)"));
        return ExitCodes.Success;
    }

    public static DecodeResult Run(DecodeRequest request, Action<string>? report = null, Action<DecodedToken>? onToken = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        // Inputs first: a bad .npy costs nothing.
        var audio = request.AudioTokensPath is null ? null : NpyFeatures.Read(request.AudioTokensPath, "tokens");
        var video = request.VideoTokensPath is null ? null : NpyFeatures.Read(request.VideoTokensPath, "tokens");
        var engine = LlamaEngine.Initialize();
        report?.Invoke($"llama.cpp {engine.Version}: {string.Join(", ", engine.Files)}");
        using var model = DecoderModel.Load(request.ModelPath, request.Backend);
        report?.Invoke($"llama.cpp backend: {model.Backend}");
        report?.Invoke($"model: {model.Description}, {model.LayerCount} layers, n_embd {model.InputWidth}, vocabulary {model.VocabularySize}");
        string modelName = Path.GetFileName(request.ModelPath);
        if (audio is not null && audio.Columns != model.InputWidth)
        {
            throw new EdgeAvsrException(
                $"{request.AudioTokensPath}: audio tokens have width {audio.Columns}, {modelName} takes {model.InputWidth} (n_embd)");
        }
        if (video is not null && video.Columns != model.InputWidth)
        {
            throw new EdgeAvsrException(
                $"{request.VideoTokensPath}: video tokens have width {video.Columns}, {modelName} takes {model.InputWidth} (n_embd)");
        }
        var prompt = request.PromptText is { } text ? DecoderPrompt.ForText(model, text) : DecoderPrompt.ForAvsr(model, request.Task, audio, video);
        using var decoder = new LlamaDecoder(model, new DecoderOptions
        {
            Threads = request.Threads,
            ThreadPolicy = request.ThreadPolicy,
            ExactNumerics = request.ExactNumerics,
        });
        var result = decoder.Generate(prompt, new GenerationOptions
        {
            MaxNewTokens = request.MaxNewTokens,
            Beams = request.Beams,
            KeepFirstLogits = request.LogitsOutPath is not null,
        }, onToken);
        if (decoder.ThreadChooser is { } chooser)
        {
            report?.Invoke($"threads: adaptive, {chooser.Best} of {chooser.MaxThreads} at the end ({chooser.Tries} tries, {chooser.Wins} won)");
        }
        if (request.LogitsOutPath is { } path)
        {
            NpyFile.Write(path, result.FirstLogits, result.FirstLogits!.Length);
            report?.Invoke($"wrote {path}");
        }
        return result;
    }
}
