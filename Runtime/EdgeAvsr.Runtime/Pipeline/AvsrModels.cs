using EdgeAvsr.Runtime.Audio.Vad;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Encoders;
using EdgeAvsr.Runtime.Interop;
using EdgeAvsr.Runtime.Onnx;
using EdgeAvsr.Runtime.Pack;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>How to load a pack for inference.</summary>
public sealed record AvsrModelOptions
{
    /// <summary>Threads for the encoders (ONNX Runtime intra-op), the projector and the decoder; 0 = one per core.</summary>
    public int Threads { get; init; }

    /// <summary>Execution providers for the encoders instead of the manifest's preference.</summary>
    public IReadOnlyList<ExecutionProvider>? EncoderProviders { get; init; }

    /// <summary>Decoder in exact-numerics mode (flash attention off, F32 KV cache): verification runs.</summary>
    public bool ExactNumerics { get; init; }

    public LlamaBackendKind DecoderBackend { get; init; } = LlamaBackendKind.Auto;

    /// <summary>Recompute every file's SHA-256 before loading.</summary>
    public bool VerifyHashes { get; init; }

    /// <summary>Silero VAD model (default: <see cref="SileroVad.DefaultModelPath"/>); only loaded for packs with an audio encoder.</summary>
    public string? VadModelPath { get; init; }

    /// <summary>
    /// Load the VAD for a pack with an audio encoder (default); false when no audio will come (a clip without sound), so
    /// its model file is not needed.
    /// </summary>
    public bool LoadVad { get; init; } = true;

    /// <summary>Receives what was loaded and where it runs (providers, backend, kernel).</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>
/// A model pack loaded for inference: checked as <see cref="ModelPack.Open(string, ModelPackOptions?)"/> checks it, with the
/// encoder sessions and projector kept open, the decoder loaded in llama.cpp and the VAD ready. The stages are used by one
/// thread each (<see cref="AvsrPipeline"/> runs encoders and decoder concurrently, never one of them twice at once).
/// </summary>
public sealed class AvsrModels : IDisposable
{
    private readonly PackComponents _components;

    private AvsrModels(ModelPack pack, PackComponents components, DecoderModel decoderModel, LlamaDecoder decoder, SileroVad? vad)
    {
        Pack = pack;
        _components = components;
        DecoderModel = decoderModel;
        Decoder = decoder;
        Vad = vad;
    }

    public ModelPack Pack { get; }

    public PackManifest Manifest => Pack.Manifest;

    public EncoderSession? AudioEncoder => _components.AudioEncoder;

    public EncoderSession? VideoEncoder => _components.VideoEncoder;

    public SmopProjector Projector => _components.Projector!;

    public DecoderModel DecoderModel { get; }

    public LlamaDecoder Decoder { get; }

    /// <summary>The voice-activity detector, present when the pack has an audio encoder (and <see cref="AvsrModelOptions.LoadVad"/>).</summary>
    public SileroVad? Vad { get; }

    public static AvsrModels Load(string packDirectory, AvsrModelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(packDirectory);
        options ??= new AvsrModelOptions();
        ThreadCount.Check(options.Threads);
        NativeEngines.InitializeOnnxRuntime();
        var components = new PackComponents(options.Threads);
        DecoderModel? model = null;
        LlamaDecoder? decoder = null;
        SileroVad? vad = null;
        try
        {
            var pack = ModelPack.Open(packDirectory, new ModelPackOptions
            {
                VerifyHashes = options.VerifyHashes,
                EncoderProviders = options.EncoderProviders,
                Log = options.Log,
            }, components);
            foreach (var placement in pack.Placements)
            {
                options.Log?.Invoke($"{placement.Part}: {placement.File} ({placement.Bytes} bytes) on {placement.Where}");
            }
            string decoderPath = pack.PathOf(pack.Manifest.Decoder.File);
            model = DecoderModel.Load(decoderPath, options.DecoderBackend, validated: true);
            options.Log?.Invoke($"decoder: llama.cpp backend {model.Backend}");
            if (model.SpecialTokens != pack.Manifest.SpecialTokens)
            {
                throw new EdgeAvsrException($"{decoderPath}: llama.cpp reads the special tokens as {model.SpecialTokens}, the manifest says {pack.Manifest.SpecialTokens}");
            }
            decoder = new LlamaDecoder(model, new DecoderOptions { Threads = options.Threads, ExactNumerics = options.ExactNumerics });
            if (pack.Manifest.AudioEncoder is not null && options.LoadVad)
            {
                vad = SileroVad.Open(options.VadModelPath);
                options.Log?.Invoke($"voice activity: {vad.ModelPath}");
            }
            return new AvsrModels(pack, components, model, decoder, vad);
        }
        catch
        {
            vad?.Dispose();
            decoder?.Dispose();
            model?.Dispose();
            components.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        Vad?.Dispose();
        Decoder.Dispose();
        DecoderModel.Dispose();
        _components.Dispose();
    }
}
