using EdgeAvsr.Runtime.Audio.Vad;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Encoders;
using EdgeAvsr.Runtime.Interop;
using EdgeAvsr.Runtime.Onnx;
using EdgeAvsr.Runtime.Pack;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>
/// A model pack loaded for inference: opened with <see cref="ModelPack.Open"/>, each component opened once by
/// <see cref="PackLoader"/> (which checks it against the manifest and the components before it), the decoder loaded in
/// llama.cpp and the VAD ready. The stages are used by one thread each (<see cref="AvsrPipeline"/> runs encoders and
/// decoder concurrently, never one of them twice at once).
/// </summary>
public sealed class AvsrModels : IDisposable
{
    private AvsrModels(ModelPack pack, EncoderSession? audio, EncoderSession? video, SmopProjector projector, DecoderModel decoderModel,
        LlamaDecoder decoder, SileroVad? vad)
    {
        Pack = pack;
        AudioEncoder = audio;
        VideoEncoder = video;
        Projector = projector;
        DecoderModel = decoderModel;
        Decoder = decoder;
        Vad = vad;
    }

    public ModelPack Pack { get; }

    public PackManifest Manifest => Pack.Manifest;

    public EncoderSession? AudioEncoder { get; }

    public EncoderSession? VideoEncoder { get; }

    public SmopProjector Projector { get; }

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
        var pack = ModelPack.Open(packDirectory, new ModelPackOptions { VerifyHashes = options.VerifyHashes });
        var manifest = pack.Manifest;
        EncoderSession? audio = null, video = null;
        DecoderModel? model = null;
        LlamaDecoder? decoder = null;
        SileroVad? vad = null;
        try
        {
            var projector = PackLoader.OpenProjector(pack, options.Threads, options.ProjectorDevice);
            var encoderOptions = new PackEncoderOptions { Providers = options.EncoderProviders, Threads = options.Threads, Log = options.Log };
            var placements = new List<PackPlacement>();
            if (manifest.AudioEncoder is not null)
            {
                audio = PackLoader.OpenEncoder(pack, Modality.Audio, projector, encoderOptions);
                placements.Add(PackLoader.Placement(pack, Modality.Audio, audio));
            }
            if (manifest.VideoEncoder is not null)
            {
                video = PackLoader.OpenEncoder(pack, Modality.Video, projector, encoderOptions);
                placements.Add(PackLoader.Placement(pack, Modality.Video, video));
            }
            placements.Add(PackLoader.Placement(pack, projector));
            var hyperparameters = PackLoader.CheckDecoder(pack, projector);
            placements.Add(PackLoader.Placement(pack, hyperparameters, backend: null));
            foreach (var placement in placements)
            {
                options.Log?.Invoke($"{placement.Part}: {placement.File} ({placement.Bytes} bytes) on {placement.Where}");
            }
            string decoderPath = pack.PathOf(manifest.Decoder.File);
            model = DecoderModel.Load(decoderPath, options.DecoderBackend, validated: true);
            options.Log?.Invoke($"decoder: llama.cpp backend {model.Backend}");
            if (model.SpecialTokens != manifest.SpecialTokens)
            {
                throw new EdgeAvsrException(
                    $"{decoderPath}: llama.cpp reads the special tokens as {model.SpecialTokens}, the manifest says {manifest.SpecialTokens}");
            }
            decoder = new LlamaDecoder(model, new DecoderOptions
            {
                Threads = options.Threads,
                ThreadPolicy = options.DecoderThreadPolicy,
                ExactNumerics = options.ExactNumerics,
            });
            if (manifest.AudioEncoder is not null && options.LoadVad)
            {
                vad = SileroVad.Open(options.VadModelPath);
                options.Log?.Invoke($"voice activity: {vad.ModelPath}");
            }
            return new AvsrModels(pack, audio, video, projector, model, decoder, vad);
        }
        catch
        {
            vad?.Dispose();
            decoder?.Dispose();
            model?.Dispose();
            video?.Dispose();
            audio?.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        Vad?.Dispose();
        Decoder.Dispose();
        DecoderModel.Dispose();
        VideoEncoder?.Dispose();
        AudioEncoder?.Dispose();
    }
}
