using EdgeAvsr.Quantize.Pack;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Synthetic;

/// <summary>What <see cref="SyntheticCheckpoint"/> writes.</summary>
public sealed record SyntheticCheckpointSpec
{
    public required TinyLlamaSpec Llama { get; init; }

    public SmopLayout Layout { get; init; } = SmopLayout.Dedr;

    /// <summary>audio | video | audiovisual (the authors' <c>modality</c>).</summary>
    public string Modality { get; init; } = "audiovisual";

    public int Experts { get; init; } = 4;

    public int TopK { get; init; } = 2;

    /// <summary>Encoder widths D (must equal the encoders' output widths).</summary>
    public int AudioDim { get; init; } = 64;

    public int VideoDim { get; init; } = 64;

    public int IntermediateSize { get; init; } = 128;

    public int AudioPool { get; init; } = 4;

    public int VideoPool { get; init; } = 2;

    /// <summary>LoRA reduction factor (the authors' <c>rank</c>) and alpha.</summary>
    public int Rank { get; init; } = 32;

    public double Alpha { get; init; } = 4;

    public int Seed { get; init; } = 7;

    /// <summary>
    /// Encoder weights as <c>Models/encoders/export_encoder.py export --save-weights</c> writes them (keys under
    /// <c>audio_encoder.</c> / <c>video_encoder.</c>, with their <c>__metadata__</c>); copied into the checkpoint.
    /// </summary>
    public string? AudioEncoderWeights { get; init; }

    public string? VideoEncoderWeights { get; init; }

    /// <summary>The tiny test size: the tiny Llama (d=256), tiny encoders (D=64), 4 experts, top-2, hidden 128.</summary>
    public static SyntheticCheckpointSpec Tiny(int seed = 7) => new() { Llama = new TinyLlamaSpec { Seed = seed + 24 }, Seed = seed };

    /// <summary>
    /// The released Llama-SMoP 1B sizes: Llama-3.2-1B (<see cref="TinyLlamaGenerator.Llama32OneB"/>: hidden 2048, 16 layers,
    /// 32 heads / 8 KV heads, FFN 8192, a 128000 + 256 token byte-level BPE, tied embeddings, llama3 RoPE scaling, BF16),
    /// LoRA reduction 32 / alpha 4 (inner dim 64, <c>lora_up_V</c> out 512 = hidden/4), DEDR SMoP with 4 experts, top-2,
    /// D 1024 (Whisper-medium, AV-HuBERT Large), I 2048, d 2048, pooling audio 4 / video 2.
    /// </summary>
    public static SyntheticCheckpointSpec OneB(int seed = 7) => new()
    {
        Llama = TinyLlamaGenerator.Llama32OneB(seed + 24),
        Seed = seed,
        AudioDim = 1024,
        VideoDim = 1024,
        IntermediateSize = 2048,
        Experts = 4,
        TopK = 2,
        AudioPool = 4,
        VideoPool = 2,
        Rank = 32,
        Alpha = 4,
    };

    /// <summary>A named size: <c>tiny</c> (tests) or <c>1b</c> (benchmarks).</summary>
    public static SyntheticCheckpointSpec ForSize(string size, int seed) => size switch
    {
        "tiny" => Tiny(seed),
        "1b" => OneB(seed),
        _ => throw new EdgeAvsrException($"--size '{size}' is not tiny or 1b"),
    };
}

/// <summary>
/// A seeded Llama-SMoP checkpoint in the authors' key layout, as one safetensors state dict: <c>llm.*</c> (the
/// Llama with its embedding and head grown by the five AVSR tokens, and LoRA <c>lora_{down,up}_{Q,V}</c> on every
/// layer, from <see cref="TinyLlamaGenerator.AddAvsrLlmTensors"/>; BF16 when the Llama spec is), the SMoP projector
/// keys (from <see cref="SyntheticProjector"/>), and <c>audio_encoder.*</c> / <c>video_encoder.*</c> copied from the
/// encoder exporter's weights. <see cref="TrainConfigFor"/> gives the matching training arguments. The file is
/// streamed: one generated tensor in memory at a time (the largest, the 1B embedding, is 1 GB as float32).
/// </summary>
public static class SyntheticCheckpoint
{
    /// <summary>Writes the checkpoint, and the base Hugging Face directory the LLM part belongs to when <paramref name="hfDirectory"/> is given.</summary>
    public static void Write(string path, SyntheticCheckpointSpec spec, string? hfDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var config = TrainConfigFor(spec);
        if (config.UsesAudio && spec.AudioEncoderWeights is null || config.UsesVideo && spec.VideoEncoderWeights is null)
        {
            throw new EdgeAvsrException($"modality {spec.Modality} needs the {(config.UsesAudio && spec.AudioEncoderWeights is null ? "audio" : "video")} " +
                "encoder weights (export_encoder.py export --save-weights)");
        }
        if (hfDirectory is not null)
        {
            TinyLlamaGenerator.WriteModel(hfDirectory, spec.Llama);
        }
        string full = Path.GetFullPath(path);
        string scratch = Path.Combine(Path.GetDirectoryName(full) ?? ".", ".edgeavsr-synthetic-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(scratch);
        var open = new List<SafetensorsFile>();
        try
        {
            string projector = Path.Combine(scratch, "projector.safetensors");
            SyntheticProjector.Write(projector, new SyntheticProjectorSpec
            {
                Layout = spec.Layout,
                Experts = spec.Experts,
                AudioDim = spec.AudioDim,
                VideoDim = spec.VideoDim,
                HiddenDim = spec.IntermediateSize,
                OutputDim = spec.Llama.HiddenSize,
                Audio = config.UsesAudio,
                Video = config.UsesVideo,
                Seed = spec.Seed,
            });
            var writer = new SafetensorsStreamWriter();
            TinyLlamaGenerator.AddAvsrLlmTensors(writer, spec.Llama, spec.Rank, loraScale: 1.0, spec.Llama.Bf16 ? TensorDType.BF16 : TensorDType.F32);
            Copy(writer, open, projector, "");
            if (config.UsesAudio)
            {
                Copy(writer, open, spec.AudioEncoderWeights!, "audio_encoder.");
            }
            if (config.UsesVideo)
            {
                Copy(writer, open, spec.VideoEncoderWeights!, "video_encoder.");
            }
            writer.Write(full);
        }
        finally
        {
            foreach (var f in open)
            {
                f.Dispose();
            }
            Directory.Delete(scratch, recursive: true);
        }
    }

    /// <summary>The training arguments of a checkpoint written from <paramref name="spec"/> (the authors' names and prompts).</summary>
    public static TrainConfig TrainConfigFor(SyntheticCheckpointSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Modality is not ("audio" or "video" or "audiovisual"))
        {
            throw new EdgeAvsrException($"modality '{spec.Modality}' is not audio, video or audiovisual");
        }
        return new TrainConfig
        {
            Modality = spec.Modality,
            LlmModel = "meta-llama/Llama-3.2-1B",
            AudioEncoderName = "openai/whisper-medium",
            IntermediateSize = spec.IntermediateSize,
            PromptAudio = AvsrTask.Asr.PromptText(),
            PromptVideo = AvsrTask.Vsr.PromptText(),
            PromptAudiovisual = AvsrTask.Avsr.PromptText(),
            Rank = spec.Rank,
            Alpha = spec.Alpha,
            MaxDecTokens = 32,
            NumBeams = 15,
            MopExperts = spec.Experts,
            Routing = RoutingSettings.Create(spec.TopK, spec.AudioPool, spec.VideoPool),
            SmopLayout = spec.Layout,
            WaveformNormalization = true,
        };
    }

    private static void Copy(SafetensorsStreamWriter writer, List<SafetensorsFile> open, string path, string prefix)
    {
        var file = SafetensorsFile.Open(path);
        open.Add(file);
        int copied = 0;
        foreach (var t in file.Tensors.Values.OrderBy(t => t.FileOffset))
        {
            if (t.Name.StartsWith(prefix, StringComparison.Ordinal))
            {
                writer.AddCopy(file, t);
                copied++;
            }
        }
        if (copied == 0)
        {
            throw new EdgeAvsrException($"{path}: no tensors under '{prefix}'");
        }
        foreach (var (key, value) in file.Metadata)
        {
            if (key.StartsWith(prefix, StringComparison.Ordinal))
            {
                writer.SetMetadata(key, value);
            }
        }
    }
}
