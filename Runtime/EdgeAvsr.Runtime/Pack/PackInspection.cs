using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Encoders;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Runtime.Pack;

/// <summary>
/// A pack opened, every component opened and checked by <see cref="PackLoader"/> on one thread, where each would run
/// recorded, and everything closed again: the whole check without keeping a model in memory.
/// </summary>
public sealed class PackInspection
{
    private PackInspection(ModelPack pack, IReadOnlyList<PackPlacement> placements)
    {
        Pack = pack;
        Placements = placements;
    }

    public ModelPack Pack { get; }

    /// <summary>Audio encoder, video encoder (those the pack has), projector, decoder.</summary>
    public IReadOnlyList<PackPlacement> Placements { get; }

    public static PackInspection Run(string directory, PackInspectionOptions? options = null)
    {
        options ??= new PackInspectionOptions();
        var pack = ModelPack.Open(directory, new ModelPackOptions { VerifyHashes = options.VerifyHashes });
        var projector = PackLoader.OpenProjector(pack, threads: 1);
        var placements = new List<PackPlacement>();
        foreach (var modality in new[] { Modality.Audio, Modality.Video })
        {
            if (pack.Manifest.Encoder(modality) is not null)
            {
                var encoderOptions = new PackEncoderOptions { Providers = options.EncoderProviders, Threads = 1, Log = options.Log };
                using EncoderSession session = PackLoader.OpenEncoder(pack, modality, projector, encoderOptions);
                placements.Add(PackLoader.Placement(pack, modality, session));
            }
        }
        placements.Add(PackLoader.Placement(pack, projector));
        var decoder = PackLoader.CheckDecoder(pack, projector);
        LlamaBackendChoice? backend = null;
        if (options.ResolveDecoderBackend)
        {
            LlamaEngine.Initialize();
            backend = LlamaEngine.ChooseBackend(LlamaBackendKind.Auto);
        }
        placements.Add(PackLoader.Placement(pack, decoder, backend));
        return new PackInspection(pack, placements);
    }
}
