using System.Text.Encodings.Web;
using System.Text.Json;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Encoders;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Quantize.Pack;

/// <summary>
/// The training arguments a Llama-SMoP checkpoint does not carry, under the authors' argparse names
/// (<c>eval_LlamaSMoP.py</c>, dashes as on the command line; shared/docs/paper.md), plus two EdgeAvsr additions the
/// public code has no argument for: <c>smop-layout</c> (it implements JEJR only) and <c>waveform-normalization</c>
/// (its data module always layer-normalises the waveform). Every value is required; nothing is defaulted, except two
/// optional EdgeAvsr additions for models trained here: <c>mel-frames</c> and <c>tasks</c> (docs/model-pack.md).
/// </summary>
public sealed record TrainConfig
{
    /// <summary><c>modality</c>: audio | video | audiovisual.</summary>
    public required string Modality { get; init; }

    /// <summary><c>llm-model</c>, e.g. meta-llama/Llama-3.2-1B.</summary>
    public required string LlmModel { get; init; }

    /// <summary><c>audio-encoder-name</c>, e.g. openai/whisper-medium.</summary>
    public required string AudioEncoderName { get; init; }

    /// <summary><c>intermediate-size</c>: the experts' hidden width.</summary>
    public required int IntermediateSize { get; init; }

    public required string PromptAudio { get; init; }

    public required string PromptVideo { get; init; }

    public required string PromptAudiovisual { get; init; }

    /// <summary><c>rank</c>: the LoRA reduction factor (inner dim = round(hidden / rank)).</summary>
    public required int Rank { get; init; }

    public required double Alpha { get; init; }

    public required int MaxDecTokens { get; init; }

    public required int NumBeams { get; init; }

    public required int MopExperts { get; init; }

    /// <summary><c>MoP-topk</c>, <c>downsample-ratio-audio</c> and <c>downsample-ratio-video</c>, checked against <see cref="MopExperts"/> when read.</summary>
    public required RoutingSettings Routing { get; init; }

    /// <summary>EdgeAvsr addition <c>smop-layout</c>.</summary>
    public required SmopLayout SmopLayout { get; init; }

    /// <summary>EdgeAvsr addition <c>waveform-normalization</c>.</summary>
    public required bool WaveformNormalization { get; init; }

    /// <summary>
    /// EdgeAvsr addition <c>mel-frames</c>: the log-mel window the audio encoder was trained on; default 3000 (Whisper's 30 s).
    /// </summary>
    public int MelFrames { get; init; } = EncoderSession.MelFrames;

    /// <summary>
    /// The tasks the model runs: EdgeAvsr addition <c>tasks</c> for a model trained with modality dropout (audiovisual may list
    /// asr, vsr and avsr), else the one task of <see cref="Modality"/>: audio -> asr, video -> vsr, audiovisual -> avsr.
    /// </summary>
    public IReadOnlyList<AvsrTask> Tasks
    {
        get => _tasks ?? DefaultTasks(Modality);
        init => _tasks = value;
    }

    private readonly IReadOnlyList<AvsrTask>? _tasks;

    private static AvsrTask[] DefaultTasks(string modality) => modality switch
    {
        "audio" => [AvsrTask.Asr],
        "video" => [AvsrTask.Vsr],
        _ => [AvsrTask.Avsr],
    };

    // The tasks a modality's inputs can serve: dropout training of an audiovisual model makes ASR and VSR possible too.
    private static AvsrTask[] PossibleTasks(string modality) => modality == "audiovisual" ? [AvsrTask.Asr, AvsrTask.Vsr, AvsrTask.Avsr]
        : DefaultTasks(modality);

    public bool UsesAudio => Modality != "video";

    public bool UsesVideo => Modality != "audio";

    public void Write(string path) => AtomicFile.Write(path, stream =>
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        w.WriteStartObject();
        w.WriteString("modality", Modality);
        w.WriteString("llm-model", LlmModel);
        w.WriteString("audio-encoder-name", AudioEncoderName);
        w.WriteNumber("intermediate-size", IntermediateSize);
        w.WriteString("prompt-audio", PromptAudio);
        w.WriteString("prompt-video", PromptVideo);
        w.WriteString("prompt-audiovisual", PromptAudiovisual);
        if (MelFrames != EncoderSession.MelFrames)
        {
            w.WriteNumber("mel-frames", MelFrames);
        }
        if (!Tasks.SequenceEqual(DefaultTasks(Modality)))
        {
            w.WriteStartArray("tasks");
            foreach (var task in Tasks)
            {
                w.WriteStringValue(task.ToText());
            }
            w.WriteEndArray();
        }
        w.WriteBoolean("add-PEFT-LLM", true);
        w.WriteNumber("rank", Rank);
        w.WriteNumber("alpha", Alpha);
        w.WriteNumber("downsample-ratio-audio", Routing.AudioPool);
        w.WriteNumber("downsample-ratio-video", Routing.VideoPool);
        w.WriteNumber("max-dec-tokens", MaxDecTokens);
        w.WriteNumber("num-beams", NumBeams);
        w.WriteNumber("MoP-experts", MopExperts);
        w.WriteNumber("MoP-topk", Routing.TopK);
        w.WriteString("smop-layout", SmopLayout.ToText());
        w.WriteBoolean("waveform-normalization", WaveformNormalization);
        w.WriteEndObject();
    });

    /// <summary>How errors name the routing values of a training-config file.</summary>
    public static RoutingOrigin RoutingOrigin(string path) => new(path, "training argument 'MoP-topk'", "training argument 'downsample-ratio-audio'",
        "training argument 'downsample-ratio-video'", "training argument 'MoP-experts'");

    public static TrainConfig Read(string path)
    {
        using var json = CheckedJson.Read(path, what: "training-config file", labels: new CheckedJsonLabels("training argument ", "; it is never guessed"));
        var root = json.Root;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new EdgeAvsrException($"{path}: expected a JSON object of training arguments");
        }
        string Str(string key) => json.String(root, key);
        int Int(string key) => json.Int(root, key, min: 1);
        string modality = Str("modality");
        if (modality is not ("audio" or "video" or "audiovisual"))
        {
            throw new EdgeAvsrException($"{path}: training argument 'modality' is '{modality}', expected audio, video or audiovisual");
        }
        int experts = Int("MoP-experts");
        var config = new TrainConfig
        {
            Modality = modality,
            LlmModel = Str("llm-model"),
            AudioEncoderName = Str("audio-encoder-name"),
            IntermediateSize = Int("intermediate-size"),
            PromptAudio = Str("prompt-audio"),
            PromptVideo = Str("prompt-video"),
            PromptAudiovisual = Str("prompt-audiovisual"),
            Rank = Int("rank"),
            Alpha = json.Number(root, "alpha"),
            MaxDecTokens = Int("max-dec-tokens"),
            NumBeams = Int("num-beams"),
            MopExperts = experts,
            Routing = RoutingSettings.Create(json.Int(root, "MoP-topk"), json.Int(root, "downsample-ratio-audio"), json.Int(root, "downsample-ratio-video"),
                experts, RoutingOrigin(path)),
            SmopLayout = SmopNames.ParseLayout(Str("smop-layout"), $"{path}: training argument 'smop-layout'"),
            WaveformNormalization = json.Bool(root, "waveform-normalization"),
            MelFrames = json.OptionalInt(root, "mel-frames", min: 1, max: EncoderSession.MelFrames) ?? EncoderSession.MelFrames,
        };
        // Only a listed 'tasks' is kept: an absent one stays the modality's default (equal configs compare equal).
        if (ReadTasks(json, root, path, modality) is { } tasks)
        {
            config = config with { Tasks = tasks };
        }
        if (!json.Bool(root, "add-PEFT-LLM"))
        {
            throw new EdgeAvsrException($"{path}: training argument 'add-PEFT-LLM' is false; the pack path expects the LoRA keys of a PEFT-trained LLM");
        }
        // The converter takes the LoRA reduction from here; the authors' other name for it must agree (as LoraMerge.ReadTrainConfig checks).
        if (json.OptionalNumber(root, "reduction_lora") is { } reduction && reduction != config.Rank)
        {
            throw new EdgeAvsrException($"{path}: 'reduction_lora' {reduction} and 'rank' {(double)config.Rank} disagree (both are the LoRA reduction factor)");
        }
        return config;
    }

    private static AvsrTask[]? ReadTasks(CheckedJson json, JsonElement root, string path, string modality)
    {
        if (CheckedJson.Find(root, "tasks") is null)
        {
            return null;
        }
        var tasks = new List<AvsrTask>();
        foreach (var item in json.Array(root, "tasks").EnumerateArray())
        {
            string text = json.StringValue(item, "tasks[]");
            if (!EnumText<AvsrTask>.TryParse(text, out var task))
            {
                throw new EdgeAvsrException($"{path}: training argument 'tasks' lists '{text}', expected asr, vsr or avsr");
            }
            if (!PossibleTasks(modality).Contains(task))
            {
                throw new EdgeAvsrException($"{path}: training argument 'tasks' lists {text}, which a model of modality '{modality}' cannot serve");
            }
            if (tasks.Contains(task))
            {
                throw new EdgeAvsrException($"{path}: training argument 'tasks' lists {text} twice");
            }
            tasks.Add(task);
        }
        if (tasks.Count == 0)
        {
            throw new EdgeAvsrException($"{path}: training argument 'tasks' is empty; list at least one of asr, vsr, avsr");
        }
        return [.. tasks];
    }
}
