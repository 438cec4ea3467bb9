using System.Globalization;
using EdgeAvsr.Quantize.Conversion;
using EdgeAvsr.Quantize.Onnx;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Encoders;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Formats.Gguf;
using EdgeAvsr.Runtime.Onnx;
using EdgeAvsr.Runtime.Pack;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Quantize.Pack;

/// <summary>What <c>edgeavsr-quantize pack</c> was asked to do.</summary>
public sealed record PackRequest
{
    /// <summary>The trained checkpoint as one safetensors state dict (the authors' keys).</summary>
    public required string Checkpoint { get; init; }

    /// <summary>The training arguments (<see cref="TrainConfig"/>).</summary>
    public required string TrainConfig { get; init; }

    /// <summary>The base Hugging Face Llama directory (config, tokenizer, weights) the checkpoint's LLM was trained from.</summary>
    public required string HfDirectory { get; init; }

    public string? AudioEncoder { get; init; }

    public string? VideoEncoder { get; init; }

    public required LlamaFileType LlmType { get; init; }

    public ProjectorPrecision ProjectorPrecision { get; init; } = ProjectorPrecision.Int8;

    public required string OutputDirectory { get; init; }

    /// <summary>The pack's name in the manifest (default: the output folder's name).</summary>
    public string? Name { get; init; }

    /// <summary>The encoders' preferred execution providers, recorded in the manifest.</summary>
    public IReadOnlyList<ExecutionProvider> ExecutionProviders { get; init; } = [ExecutionProvider.TensorRt, ExecutionProvider.Cuda, ExecutionProvider.Cpu];

    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// fp32 copies the encoders; int8 quantizes each (<see cref="EncoderQuantizer"/>, calibrated on <see cref="CalibrationDirectory"/>,
    /// which it needs) and writes its report beside it in the pack.
    /// </summary>
    public EncoderPrecision EncoderPrecision { get; init; } = EncoderPrecision.Fp32;

    /// <summary>Media folder for the INT8 calibration (<see cref="CalibrationMedia"/>); null = seeded synthetic features.</summary>
    public string? CalibrationDirectory { get; init; }
}

/// <summary>The pack written: its manifest and, for an INT8 projector, the calibration report.</summary>
public sealed record PackResult(string Directory, PackManifest Manifest, CalibrationReport? Calibration);

/// <summary>
/// Builds a model pack from a trained Llama-SMoP checkpoint in one go (docs/model-pack.md): the projector from the
/// state dict (INT8 with a calibration report, or fp32), the LLM through the HF->GGUF converter with its LoRA merged
/// and the AVSR tokens added, the encoders copied and checked against the projector; everything the state dict does
/// not hold comes from the training config. The pack is assembled in a temporary folder beside the output and
/// renamed into place at the end, then opened with <see cref="PackInspection.Run"/> as a final check.
/// </summary>
public static class PackBuilder
{
    public const string AudioEncoderFile = "audio_encoder.onnx";
    public const string VideoEncoderFile = "video_encoder.onnx";
    public const string DecoderFile = "decoder.gguf";

    public static PackResult Build(PackRequest request, Action<string>? log = null, IProgress<ConversionProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        log ??= _ => { };
        string output = Path.GetFullPath(request.OutputDirectory);
        if (Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any() || File.Exists(output))
        {
            throw new EdgeAvsrException($"{output}: already exists; choose a new --out folder (a pack is never written over another)");
        }
        var config = TrainConfig.Read(request.TrainConfig);
        var weights = LoadProjector(request.Checkpoint, config);
        foreach (var (uses, path, option, name) in new[] { (config.UsesAudio, request.AudioEncoder, "--audio-encoder", "audio"),
            (config.UsesVideo, request.VideoEncoder, "--video-encoder", "video") })
        {
            if (uses && path is null)
            {
                throw new EdgeAvsrException($"{request.TrainConfig}: modality '{config.Modality}' needs the {name} encoder: pass {option}");
            }
            if (!uses && path is not null)
            {
                throw new EdgeAvsrException($"{option}: the checkpoint was trained with modality '{config.Modality}', which has no {name} input");
            }
        }

        if (request.EncoderPrecision == EncoderPrecision.Int8 && request.CalibrationDirectory is null)
        {
            throw new EdgeAvsrException("--encoder-precision int8 needs --calibration MEDIA_DIR: the activation ranges come from real media " +
                "through the pack's front-ends");
        }
        string parent = Path.GetDirectoryName(output) ?? ".";
        Directory.CreateDirectory(parent);
        string temp = Path.Combine(parent, $".{Path.GetFileName(output)}.tmp-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        try
        {
            var audio = request.AudioEncoder is null ? null : CopyEncoder(request.AudioEncoder, Modality.Audio, weights, temp, AudioEncoderFile,
                request.ExecutionProviders, log,
                    (config.MelFrames, request.TrainConfig));
            var video = request.VideoEncoder is null ? null : CopyEncoder(request.VideoEncoder, Modality.Video, weights, temp, VideoEncoderFile,
                request.ExecutionProviders, log,
                    null);

            string projectorFile;
            CalibrationReport? report = null;
            var extra = new List<string>();
            if (request.EncoderPrecision == EncoderPrecision.Int8)
            {
                audio = audio is null ? null : QuantizeEncoder(audio, EncoderKind.Audio, temp, request, config, extra, log);
                video = video is null ? null : QuantizeEncoder(video, EncoderKind.Video, temp, request, config, extra, log);
            }
            if (request.ProjectorPrecision == ProjectorPrecision.Int8)
            {
                projectorFile = "projector.int8.safetensors";
                // Quantized once: the file written and the calibration measure the same weights.
                var int8 = weights.ToInt8();
                Int8ProjectorFile.Write(Path.Combine(temp, projectorFile), int8, config.Routing, Path.GetFileName(request.Checkpoint));
                if (request.CalibrationDirectory is null)
                {
                    report = ProjectorCalibration.Synthetic(weights, int8, config.Routing);
                }
                else
                {
                    var features = CalibrationMedia.Encode(request.CalibrationDirectory,
                        audio is null ? null : Path.Combine(temp, audio.File), video is null ? null : Path.Combine(temp, video.File),
                        config.WaveformNormalization, config.Routing);
                    report = ProjectorCalibration.Measure(weights, int8, config.Routing, features.Audio, features.Video, features.Source);
                }
                report.Write(Path.Combine(temp, CalibrationReport.FileName));
                extra.Add(CalibrationReport.FileName);
                log(report.Describe().TrimEnd());
            }
            else
            {
                if (request.CalibrationDirectory is not null && request.EncoderPrecision == EncoderPrecision.Fp32)
                {
                    throw new EdgeAvsrException("--calibration applies to an INT8 projector or INT8 encoders; --projector-precision fp32 keeps the " +
                        "weights unchanged");
                }
                projectorFile = "projector.fp32.safetensors";
                CopyProjectorTensors(request.Checkpoint, Path.Combine(temp, projectorFile));
            }
            int expertCount = (weights.Audio ?? weights.Video)!.ExpertCount;
            log($"projector: {weights.Layout.ToText()}, {expertCount} experts, top-{config.Routing.TopK}, "
                + $"{request.ProjectorPrecision.ToText()} -> {projectorFile}");

            var conversion = LlamaGgufConverter.Convert(
                new LlamaConversionRequest(request.HfDirectory, Path.Combine(temp, DecoderFile), request.LlmType)
                {
                    CheckpointPath = request.Checkpoint,
                    TrainConfigPath = request.TrainConfig,
                    TrainLora = (config.Rank, config.Alpha),
                    Threads = request.Threads,
                },
                progress);
            log(string.Create(CultureInfo.InvariantCulture,
                $"decoder: {request.LlmType.ToString().ToLowerInvariant()}, {conversion.TensorCount} tensors, {conversion.FileBytes} bytes -> {DecoderFile}"));
            var special = AvsrSpecialTokens.FromIds([.. AvsrSpecialTokens.Table.Select(t => conversion.AddedTokenIds[t.Text])]);

            var any = (weights.Audio ?? weights.Video)!;
            var prompts = new Dictionary<AvsrTask, string>();
            foreach (var task in config.Tasks)
            {
                prompts[task] = task switch
                {
                    AvsrTask.Asr => config.PromptAudio,
                    AvsrTask.Vsr => config.PromptVideo,
                    _ => config.PromptAudiovisual,
                };
            }
            var draft = new PackManifest
            {
                Name = request.Name ?? Path.GetFileName(output),
                Tasks = config.Tasks,
                AudioEncoder = audio,
                VideoEncoder = video,
                Projector = new PackProjector
                {
                    File = projectorFile,
                    Precision = request.ProjectorPrecision,
                    Layout = weights.Layout,
                    Experts = any.ExpertCount,
                    Routing = config.Routing,
                    AudioInputDim = weights.Audio?.InputDim,
                    VideoInputDim = weights.Video?.InputDim,
                    HiddenDim = any.Experts[0].HiddenDim,
                    OutputDim = any.OutputDim,
                },
                Decoder = new PackDecoder
                {
                    File = DecoderFile,
                    Type = request.LlmType.ToString().ToLowerInvariant(),
                    EmbeddingDim = conversion.EmbeddingLength,
                    LoraReduction = config.Rank,
                    LoraAlpha = config.Alpha,
                },
                FrontEnd = new PackFrontEnd
                {
                    SampleRate = 16000,
                    WaveformNormalization = config.WaveformNormalization,
                    MelBins = EncoderSession.MelBins,
                    MelFrames = config.MelFrames,
                    VideoFps = 25,
                    CropSize = Runtime.Video.MouthRoi.CropSize,
                    RoiSize = Runtime.Video.MouthRoi.RoiSize,
                    RoiMean = Shortest(Runtime.Video.MouthRoi.Mean),
                    RoiStd = Shortest(Runtime.Video.MouthRoi.Std),
                },
                Prompts = prompts,
                SpecialTokens = special,
                Decoding = new PackDecoding { Beams = config.NumBeams, MaxNewTokens = config.MaxDecTokens },
                Files = [],
            };
            var manifest = PackWriter.WriteManifest(temp, draft, [.. extra]);
            // The same checks a runtime load makes, on the CPU provider (the machine building a pack need not have the GPU).
            PackInspection.Run(temp, new PackInspectionOptions { VerifyHashes = false, EncoderProviders = [ExecutionProvider.Cpu] });
            if (Directory.Exists(output))
            {
                Directory.Delete(output);
            }
            Directory.Move(temp, output);
            log($"wrote {output}");
            return new PackResult(output, manifest, report);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    private static SmopWeights LoadProjector(string checkpoint, TrainConfig config)
    {
        var w = SmopWeights.Load(checkpoint, config.SmopLayout);
        var any = (w.Audio ?? w.Video)!;
        if (any.ExpertCount != config.MopExperts)
        {
            throw new EdgeAvsrException($"{checkpoint}: the projector has {any.ExpertCount} experts, the training config's 'MoP-experts' says " +
                $"{config.MopExperts}");
        }
        if (any.Experts[0].HiddenDim != config.IntermediateSize)
        {
            throw new EdgeAvsrException($"{checkpoint}: the experts' hidden width is {any.Experts[0].HiddenDim}, the training config's " +
                $"'intermediate-size' says {config.IntermediateSize}");
        }
        foreach (var (uses, modality) in new[] { (config.UsesAudio, Modality.Audio), (config.UsesVideo, Modality.Video) })
        {
            if (uses && w.For(modality) is null)
            {
                throw new EdgeAvsrException($"{checkpoint}: modality '{config.Modality}' needs {modality.ToText()} projector weights, which the " +
                    "checkpoint lacks");
            }
        }
        return w;
    }

    private static PackEncoder CopyEncoder(string source, Modality modality, SmopWeights weights, string temp, string name,
        IReadOnlyList<ExecutionProvider> providers, Action<string> log, (int Frames, string TrainConfig)? melWindow)
    {
        if (!File.Exists(source))
        {
            throw new EdgeAvsrException($"{source}: no such {modality.ToText()} encoder file");
        }
        // The file the user gave is checked, so every message names it (the copy in the temporary folder is gone after a failure).
        using var session = EncoderSession.Open(source, new OnnxSessionOptions { Providers = [ExecutionProvider.Cpu], IntraOpThreads = 1 });
        var kind = modality == Modality.Audio ? EncoderKind.Audio : EncoderKind.Video;
        if (session.Kind != kind)
        {
            string actual = session.Kind.ToString().ToLowerInvariant();
            throw new EdgeAvsrException($"{source}: given as the {modality.ToText()} encoder, but it is a {actual} encoder (input {session.Input.Describe()})");
        }
        if (melWindow is { } window && session.AudioWindowFrames != window.Frames)
        {
            throw new EdgeAvsrException($"{source}: the audio encoder takes {session.AudioWindowFrames} log-mel frames, {window.TrainConfig} says " +
                $"'mel-frames' {window.Frames}{(window.Frames == EncoderSession.MelFrames ? " (the default: Whisper's 30 s)" : "")}");
        }
        long d = session.Output.Shape[^1];
        int projectorD = weights.For(modality)!.InputDim;
        if (d != projectorD)
        {
            throw new EdgeAvsrException($"{source}: {modality.ToText()} encoder output width " +
                $"D={(d < 0 ? "? (symbolic)" : d.ToString(CultureInfo.InvariantCulture))} does not equal the projector's {modality.ToText()} input " +
                $"width D={projectorD}");
        }
        File.Copy(source, Path.Combine(temp, name));
        log($"{modality.ToText()} encoder: {session.Input.Describe()} -> {session.Output.Describe()} -> {name}");
        return new PackEncoder { File = name, InputName = session.Input.Name, OutputName = session.Output.Name, OutputDim = (int)d,
            ExecutionProviders = providers };
    }

    /// <summary>
    /// Replaces the copied float encoder by its INT8 QDQ model (<c>audio_encoder.int8.onnx</c>), calibrated on the media
    /// through the front-ends as the training config sets them, with its report (<c>audio_encoder.int8.report.json</c>).
    /// </summary>
    private static PackEncoder QuantizeEncoder(PackEncoder encoder, EncoderKind kind, string temp, PackRequest request, TrainConfig config,
        List<string> extra, Action<string> log)
    {
        string source = Path.Combine(temp, encoder.File);
        string stem = Path.GetFileNameWithoutExtension(encoder.File);
        string file = stem + ".int8.onnx";
        string reportFile = stem + ".int8.report.json";
        var (inputs, described) = CalibrationMedia.EncoderInputs(request.CalibrationDirectory!, kind, config.WaveformNormalization, config.MelFrames);
        var calibration = inputs.Select(t => (IReadOnlyDictionary<string, OnnxTensor>)new Dictionary<string, OnnxTensor> { [encoder.InputName] = t })
            .ToList();
        var report = EncoderQuantizer.Quantize(source, calibration, described, Path.Combine(temp, file),
            new EncoderQuantizeOptions { Threads = request.Threads });
        report.Write(Path.Combine(temp, reportFile));
        File.Delete(source);
        extra.Add(reportFile);
        log(report.Describe().TrimEnd());
        return encoder with { File = file, Precision = EncoderPrecision.Int8 };
    }

    private static void CopyProjectorTensors(string checkpoint, string target)
    {
        using var file = SafetensorsFile.Open(checkpoint);
        var writer = new SafetensorsWriter();
        foreach (var t in file.Tensors.Values.OrderBy(t => t.FileOffset))
        {
            if (t.Name.StartsWith(SmopNames.JointPrefix, StringComparison.Ordinal) || t.Name.StartsWith(SmopNames.AudioPrefix, StringComparison.Ordinal)
                || t.Name.StartsWith(SmopNames.VideoPrefix, StringComparison.Ordinal) || t.Name == SmopNames.SharedRouter)
            {
                writer.Add(t.Name, t.DType, t.Shape, file.ReadRaw(t));
            }
        }
        writer.Write(target);
    }

    // 0.421f as the decimal 0.421 (its shortest round-trip text), not 0.42100000381469727.
    private static double Shortest(float v) => double.Parse(v.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
