using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Onnx;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Runtime.Pack;

/// <summary>One ONNX encoder of a pack: its file, the tensor names it exchanges, its width and where it should run.</summary>
public sealed record PackEncoder
{
    /// <summary>File name relative to the pack folder.</summary>
    public required string File { get; init; }

    public required string InputName { get; init; }

    public required string OutputName { get; init; }

    /// <summary>D: the width of each output state (the last dimension of the encoder output).</summary>
    public required int OutputDim { get; init; }

    /// <summary>Execution providers in the order to try them.</summary>
    public required IReadOnlyList<ExecutionProvider> ExecutionProviders { get; init; }
}

/// <summary>The Sparse Mixture of Projectors of a pack.</summary>
public sealed record PackProjector
{
    public required string File { get; init; }

    public required ProjectorPrecision Precision { get; init; }

    public required SmopLayout Layout { get; init; }

    public required int Experts { get; init; }

    /// <summary>top_k, audio_pool and video_pool, checked against <see cref="Experts"/> when read.</summary>
    public required RoutingSettings Routing { get; init; }

    /// <summary>Input width of the audio experts; null when the projector has no audio mixture.</summary>
    public int? AudioInputDim { get; init; }

    public int? VideoInputDim { get; init; }

    public required int HiddenDim { get; init; }

    /// <summary>d_llm: the width of the tokens the projector writes.</summary>
    public required int OutputDim { get; init; }

    public int? InputDim(Modality modality) => modality == Modality.Audio ? AudioInputDim : VideoInputDim;
}

/// <summary>The llama.cpp decoder of a pack.</summary>
public sealed record PackDecoder
{
    public required string File { get; init; }

    /// <summary>The llama.cpp file type it was quantized to (<c>q4_k_m</c>, <c>q8_0</c>, <c>f32</c>, ...).</summary>
    public required string Type { get; init; }

    public required int EmbeddingDim { get; init; }

    /// <summary>LoRA inner-dimension reduction the checkpoint was trained with (merged into the weights).</summary>
    public required int LoraReduction { get; init; }

    public required double LoraAlpha { get; init; }
}

/// <summary>Front-end settings: how media becomes encoder input.</summary>
public sealed record PackFrontEnd
{
    public required int SampleRate { get; init; }

    /// <summary>Whether the waveform is normalised to zero mean, unit variance before the log-mel (the authors' <c>norm_audio</c>).</summary>
    public required bool WaveformNormalization { get; init; }

    public required int MelBins { get; init; }

    public required int MelFrames { get; init; }

    public required double VideoFps { get; init; }

    /// <summary>Side of the square mouth crop before the centre crop.</summary>
    public required int CropSize { get; init; }

    /// <summary>Side of the centre-cropped region of interest the video encoder takes.</summary>
    public required int RoiSize { get; init; }

    public required double RoiMean { get; init; }

    public required double RoiStd { get; init; }
}

/// <summary>Decoding defaults.</summary>
public sealed record PackDecoding
{
    public required int Beams { get; init; }

    public required int MaxNewTokens { get; init; }
}

/// <summary>A file of the pack with its size and SHA-256 (lowercase hex).</summary>
public sealed record PackFile(string Path, long Bytes, string Sha256);

/// <summary>
/// <c>manifest.json</c> of an EdgeAvsr model pack, schema version 1 (docs/model-pack.md). Read and written with
/// <see cref="PackManifestJson"/> (no reflection).
/// </summary>
public sealed record PackManifest
{
    public const int CurrentSchemaVersion = 1;

    public const string FileName = "manifest.json";

    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    public required string Name { get; init; }

    public required IReadOnlyList<AvsrTask> Tasks { get; init; }

    public PackEncoder? AudioEncoder { get; init; }

    public PackEncoder? VideoEncoder { get; init; }

    public required PackProjector Projector { get; init; }

    public required PackDecoder Decoder { get; init; }

    public required PackFrontEnd FrontEnd { get; init; }

    /// <summary>The instruction text per task.</summary>
    public required IReadOnlyDictionary<AvsrTask, string> Prompts { get; init; }

    public required AvsrSpecialTokens SpecialTokens { get; init; }

    public required PackDecoding Decoding { get; init; }

    /// <summary>Every file of the pack other than the manifest.</summary>
    public required IReadOnlyList<PackFile> Files { get; init; }

    public PackEncoder? Encoder(Modality modality) => modality == Modality.Audio ? AudioEncoder : VideoEncoder;

    /// <summary>The files the components name, in a fixed order.</summary>
    public IEnumerable<(string Part, string File)> ComponentFiles()
    {
        if (AudioEncoder is not null)
        {
            yield return ("audio encoder", AudioEncoder.File);
        }
        if (VideoEncoder is not null)
        {
            yield return ("video encoder", VideoEncoder.File);
        }
        yield return ("projector", Projector.File);
        yield return ("decoder", Decoder.File);
    }
}
