using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Onnx;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Runtime.Pack;

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
