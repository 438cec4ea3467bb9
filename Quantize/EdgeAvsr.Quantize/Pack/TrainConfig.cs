using System.Text.Encodings.Web;
using System.Text.Json;
using EdgeAvsr.Quantize.Hf;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Quantize.Pack;

/// <summary>
/// The training arguments a Llama-SMoP checkpoint does not carry, under the authors' argparse names
/// (<c>eval_LlamaSMoP.py</c>, dashes as on the command line; shared/docs/paper.md), plus two EdgeAvsr additions the
/// public code has no argument for: <c>smop-layout</c> (it implements JEJR only) and <c>waveform-normalization</c>
/// (its data module always layer-normalises the waveform). Every value is required; nothing is defaulted.
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

    public required int DownsampleRatioAudio { get; init; }

    public required int DownsampleRatioVideo { get; init; }

    public required int MaxDecTokens { get; init; }

    public required int NumBeams { get; init; }

    public required int MopExperts { get; init; }

    public required int MopTopK { get; init; }

    /// <summary>EdgeAvsr addition <c>smop-layout</c>.</summary>
    public required SmopLayout SmopLayout { get; init; }

    /// <summary>EdgeAvsr addition <c>waveform-normalization</c>.</summary>
    public required bool WaveformNormalization { get; init; }

    /// <summary>The tasks a model trained on <see cref="Modality"/> runs: audio -> asr, video -> vsr, audiovisual -> avsr.</summary>
    public IReadOnlyList<AvsrTask> Tasks => Modality switch
    {
        "audio" => [AvsrTask.Asr],
        "video" => [AvsrTask.Vsr],
        _ => [AvsrTask.Avsr],
    };

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
        w.WriteBoolean("add-PEFT-LLM", true);
        w.WriteNumber("rank", Rank);
        w.WriteNumber("alpha", Alpha);
        w.WriteNumber("downsample-ratio-audio", DownsampleRatioAudio);
        w.WriteNumber("downsample-ratio-video", DownsampleRatioVideo);
        w.WriteNumber("max-dec-tokens", MaxDecTokens);
        w.WriteNumber("num-beams", NumBeams);
        w.WriteNumber("MoP-experts", MopExperts);
        w.WriteNumber("MoP-topk", MopTopK);
        w.WriteString("smop-layout", SmopLayout.ToText());
        w.WriteBoolean("waveform-normalization", WaveformNormalization);
        w.WriteEndObject();
    });

    public static TrainConfig Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new EdgeAvsrException($"{path}: no such training-config file");
        }
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new EdgeAvsrException($"{path}: not valid JSON ({e.Message})");
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new EdgeAvsrException($"{path}: expected a JSON object of training arguments");
            }
            JsonElement Get(string key) => root.TryGetProperty(key, out var e)
                ? e
                : throw new EdgeAvsrException($"{path}: training argument '{key}' is missing; it is never guessed");
            string Str(string key) => Get(key) is { ValueKind: JsonValueKind.String } e
                ? e.GetString()!
                : throw new EdgeAvsrException($"{path}: training argument '{key}' must be a string");
            double Num(string key) => Get(key) is { ValueKind: JsonValueKind.Number } e && e.TryGetDouble(out double v) && double.IsFinite(v)
                ? v
                : throw new EdgeAvsrException($"{path}: training argument '{key}' must be a number");
            int Int(string key)
            {
                double v = Num(key);
                return v >= 1 && v <= int.MaxValue && v == Math.Floor(v) ? (int)v : throw new EdgeAvsrException($"{path}: training argument '{key}' must be a positive integer, found {v}");
            }
            bool Bool(string key) => Get(key).ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw new EdgeAvsrException($"{path}: training argument '{key}' must be true or false"),
            };
            string modality = Str("modality");
            if (modality is not ("audio" or "video" or "audiovisual"))
            {
                throw new EdgeAvsrException($"{path}: training argument 'modality' is '{modality}', expected audio, video or audiovisual");
            }
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
                Alpha = Num("alpha"),
                DownsampleRatioAudio = Int("downsample-ratio-audio"),
                DownsampleRatioVideo = Int("downsample-ratio-video"),
                MaxDecTokens = Int("max-dec-tokens"),
                NumBeams = Int("num-beams"),
                MopExperts = Int("MoP-experts"),
                MopTopK = Int("MoP-topk"),
                SmopLayout = SmopNames.ParseLayout(Str("smop-layout"), $"{path}: training argument 'smop-layout'"),
                WaveformNormalization = Bool("waveform-normalization"),
            };
            if (!Bool("add-PEFT-LLM"))
            {
                throw new EdgeAvsrException($"{path}: training argument 'add-PEFT-LLM' is false; the pack path expects the LoRA keys of a PEFT-trained LLM");
            }
            // The converter takes the LoRA reduction from here; the authors' other name for it must agree (as LoraMerge.ReadTrainConfig checks).
            if (JsonFile.OptionalNumber(path, root, "reduction_lora") is { } reduction && reduction != config.Rank)
            {
                throw new EdgeAvsrException($"{path}: 'reduction_lora' {reduction} and 'rank' {(double)config.Rank} disagree (both are the LoRA reduction factor)");
            }
            if (config.MopTopK > config.MopExperts)
            {
                throw new EdgeAvsrException($"{path}: 'MoP-topk' {config.MopTopK} exceeds 'MoP-experts' {config.MopExperts}");
            }
            return config;
        }
    }
}
