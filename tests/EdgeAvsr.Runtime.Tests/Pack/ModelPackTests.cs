using System.Security.Cryptography;
using EdgeAvsr.Cli;
using EdgeAvsr.Quantize.Pack;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Encoders;
using EdgeAvsr.Runtime.Formats.Gguf;
using EdgeAvsr.Runtime.Onnx;
using EdgeAvsr.Runtime.Pack;
using EdgeAvsr.Runtime.Pipeline;
using EdgeAvsr.Runtime.Projector;
using EdgeAvsr.Runtime.Tests.Decoding;

namespace EdgeAvsr.Runtime.Tests.Pack;

/// <summary>
/// The parts of a tiny pack, made once per test process (deleted at exit) and shared by the tests that read them: both
/// encoders exported by Models/encoders/export_encoder.py (tiny, D=64, their weights saved too), a seeded DEDR projector
/// (4 experts, 64 -> 128 -> 256) as fp32 and INT8 files, and the tiny AVSR decoder GGUF (d=256, the five special tokens
/// added). <see cref="Build"/> assembles a pack folder from them with an edited manifest; nothing writes into this folder.
/// </summary>
public sealed class PackParts
{
    private static readonly Lazy<TempDir> s_dir = new(() =>
    {
        var dir = new TempDir();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => dir.Dispose();
        return dir;
    });

    /// <summary>Whisper seed 3 and AV-HuBERT seed 4, tiny: audio.onnx / audio.safetensors, video.onnx / video.safetensors.</summary>
    private static readonly Lazy<TempDir> s_encoders = new(() =>
    {
        const string script = "Models/encoders/export_encoder.py";
        var dir = s_dir.Value;
        Python.Script(script, "export", "--arch", "whisper", "--size", "tiny", "--seed", "3", "--out", dir.File("audio.onnx"), "--save-weights",
            dir.File("audio.safetensors"));
        Python.Script(script, "export", "--arch", "avhubert", "--size", "tiny", "--seed", "4", "--out", dir.File("video.onnx"), "--save-weights",
            dir.File("video.safetensors"));
        return dir;
    });

    private static readonly Lazy<PackParts> s_shared = new(() => new PackParts());

    public static PackParts Shared => s_shared.Value;

    /// <summary>One of the exported encoder files (audio.onnx, audio.safetensors, video.onnx, video.safetensors), without making the other parts.</summary>
    public static string EncoderFile(string name) => s_encoders.Value.File(name);

    private PackParts()
    {
        _ = s_encoders.Value;
        Projector(File("projector.fp32.safetensors"), audioDim: 64, outputDim: 256);
        Projector(File("projector.narrow.safetensors"), audioDim: 32, outputDim: 256);
        Projector(File("projector.wide-out.safetensors"), audioDim: 64, outputDim: 128);
        foreach (string name in new[] { "projector", "projector.narrow", "projector.wide-out" })
        {
            string fp32 = File(name == "projector" ? "projector.fp32.safetensors" : name + ".safetensors");
            var w = SmopWeights.Load(fp32, SmopLayout.Dedr);
            Int8ProjectorFile.Write(File(name == "projector" ? "projector.int8.safetensors" : name + ".int8.safetensors"), w, RoutingSettings.Create(2, 4, 2));
        }
        System.IO.File.Copy(TinyModels.Base.F32Gguf, File("decoder.gguf"));
        using var gguf = GgufFile.Open(File("decoder.gguf"));
        int Id(string key) => Convert.ToInt32(gguf.Find($"edgeavsr.{key}_token_id")!.Value, System.Globalization.CultureInfo.InvariantCulture);
        Special = new AvsrSpecialTokens(Id("pad"), Id("audio_start"), Id("audio_end"), Id("video_start"), Id("video_end"));
    }

    public AvsrSpecialTokens Special { get; }

    public string File(string name) => s_dir.Value.File(name);

    private static void Projector(string path, int audioDim, int outputDim) =>
        SyntheticProjector.Write(path, new SyntheticProjectorSpec { Layout = SmopLayout.Dedr, Experts = 4, AudioDim = audioDim, VideoDim = 64,
            HiddenDim = 128, OutputDim = outputDim, Seed = 5 });

    public PackManifest Draft(string name = "tiny") => new()
    {
        Name = name,
        Tasks = [AvsrTask.Asr, AvsrTask.Vsr, AvsrTask.Avsr],
        AudioEncoder = new PackEncoder { File = "audio_encoder.onnx", InputName = "input_features", OutputName = "last_hidden_state", OutputDim = 64,
            ExecutionProviders = [ExecutionProvider.Cpu] },
        VideoEncoder = new PackEncoder { File = "video_encoder.onnx", InputName = "video", OutputName = "last_hidden_state", OutputDim = 64,
            ExecutionProviders = [ExecutionProvider.Cpu] },
        Projector = new PackProjector
        {
            File = "projector.safetensors", Precision = ProjectorPrecision.Int8, Layout = SmopLayout.Dedr, Experts = 4,
            Routing = RoutingSettings.Create(2, 4, 2), AudioInputDim = 64, VideoInputDim = 64, HiddenDim = 128, OutputDim = 256,
        },
        Decoder = new PackDecoder { File = "decoder.gguf", Type = "f32", EmbeddingDim = 256, LoraReduction = 32, LoraAlpha = 4 },
        FrontEnd = new PackFrontEnd { SampleRate = 16000, WaveformNormalization = true, MelBins = 80, MelFrames = 3000, VideoFps = 25, CropSize = 96,
            RoiSize = 88, RoiMean = 0.421, RoiStd = 0.165 },
        Prompts = new Dictionary<AvsrTask, string> { [AvsrTask.Asr] = AvsrTask.Asr.PromptText(), [AvsrTask.Vsr] = AvsrTask.Vsr.PromptText(),
            [AvsrTask.Avsr] = AvsrTask.Avsr.PromptText() },
        SpecialTokens = Special,
        Decoding = new PackDecoding { Beams = 3, MaxNewTokens = 96 },
        Files = [],
    };

    /// <summary>A pack folder inside <paramref name="dir"/> with the given projector file and (edited) manifest, hashed and written.</summary>
    public string Build(TempDir dir, Func<PackManifest, PackManifest>? edit = null, string projector = "projector.int8.safetensors",
        string audioEncoder = "audio.onnx")
    {
        string pack = dir.File("pack");
        Directory.CreateDirectory(pack);
        System.IO.File.Copy(File(audioEncoder), Path.Combine(pack, "audio_encoder.onnx"));
        System.IO.File.Copy(File("video.onnx"), Path.Combine(pack, "video_encoder.onnx"));
        System.IO.File.Copy(File(projector), Path.Combine(pack, "projector.safetensors"));
        System.IO.File.Copy(File("decoder.gguf"), Path.Combine(pack, "decoder.gguf"));
        var draft = Draft();
        PackWriter.WriteManifest(pack, edit is null ? draft : edit(draft));
        return pack;
    }
}

[Collection("console")]
public class ModelPackTests
{
    private readonly PackParts parts = PackParts.Shared;

    private static (int Code, string Out, string Err) Invoke(params string[] args) => CliHarness.Edgeavsr(args);

    /// <summary>Assert.Contains with the whole message shown on failure.</summary>
    /// <summary>A fresh pack whose manifest has <paramref name="from"/> (which must be there) replaced by <paramref name="to"/>.</summary>
    private (string Pack, string Manifest) PackWithManifestEdit(TempDir dir, string from, string to)
    {
        string pack = parts.Build(dir);
        string path = Path.Combine(pack, PackManifest.FileName);
        string text = File.ReadAllText(path);
        Has(from, text);
        File.WriteAllText(path, text.Replace(from, to, StringComparison.Ordinal));
        return (pack, path);
    }

    private static void Has(string expected, string actual) => Assert.True(actual.Contains(expected, StringComparison.Ordinal), $"expected " +
        $"'{expected}' in: {actual}");

    /// <summary>The whole check: the pack opened, then every component opened and cross-checked by the loader.</summary>
    private static EdgeAvsrException OpenFails(string pack, bool verify = false) =>
        Assert.Throws<EdgeAvsrException>(() => PackInspection.Run(pack, new PackInspectionOptions { VerifyHashes = verify }));

    [Fact]
    public void Manifest_RoundTrips_ByteForByte_AndFieldForField()
    {
        using var dir = new TempDir();
        string pack = parts.Build(dir);
        string path = Path.Combine(pack, PackManifest.FileName);
        byte[] written = File.ReadAllBytes(path);
        var read = PackManifestJson.Read(path);
        Assert.Equal(written, PackManifestJson.ToUtf8(read));
        var draft = parts.Draft();
        Assert.Equal(draft.Tasks, read.Tasks);
        Assert.Equal(draft.AudioEncoder! with { ExecutionProviders = [] }, read.AudioEncoder! with { ExecutionProviders = [] });
        Assert.Equal(draft.AudioEncoder!.ExecutionProviders, read.AudioEncoder!.ExecutionProviders);
        Assert.Equal(draft.Projector, read.Projector);
        Assert.Equal(draft.Decoder, read.Decoder);
        Assert.Equal(draft.FrontEnd, read.FrontEnd);
        Assert.Equal(draft.SpecialTokens, read.SpecialTokens);
        Assert.Equal(draft.Decoding, read.Decoding);
        Assert.Equal(draft.Prompts.OrderBy(kv => kv.Key), read.Prompts.OrderBy(kv => kv.Key));
        // Hashes and sizes are those of the files, computed independently here.
        Assert.Equal(4, read.Files.Count);
        foreach (var f in read.Files)
        {
            byte[] bytes = File.ReadAllBytes(Path.Combine(pack, f.Path));
            Assert.Equal(bytes.LongLength, f.Bytes);
            Assert.Equal(Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant(), f.Sha256);
        }
    }

    [Fact]
    public void Open_ChecksEveryPart_AndReportsWhereEachRuns()
    {
        using var dir = new TempDir();
        var pack = PackInspection.Run(parts.Build(dir), new PackInspectionOptions { VerifyHashes = true });
        Assert.Equal(["audio encoder", "video encoder", "projector", "decoder"], pack.Placements.Select(p => p.Part));
        Has("cpu", pack.Placements[0].Where);
        Has("int8", pack.Placements[2].Where);
        Has("d=256", pack.Placements[3].Where);
    }

    /// <summary>A pack whose <paramref name="file"/> holds seeded garbage, the manifest rewritten so that sizes and hashes match.</summary>
    private string BuildWithGarbage(TempDir dir, string file)
    {
        string pack = parts.Build(dir);
        string path = Path.Combine(pack, file);
        var garbage = new byte[new FileInfo(path).Length];
        new Random(7).NextBytes(garbage);
        File.WriteAllBytes(path, garbage);
        PackWriter.WriteManifest(pack, parts.Draft());
        return pack;
    }

    [Theory]
    [InlineData("audio_encoder.onnx")]
    [InlineData("video_encoder.onnx")]
    [InlineData("projector.safetensors")]
    [InlineData("decoder.gguf")]
    public void Open_ReadsOnlyTheManifestAndFiles_TheLoaderNamesAGarbageComponent(string file)
    {
        using var dir = new TempDir();
        string pack = BuildWithGarbage(dir, file);
        // Open checks sizes and hashes only: no ONNX Runtime session, projector or llama.cpp model is made.
        var opened = ModelPack.Open(pack, new ModelPackOptions { VerifyHashes = true });
        Assert.Equal(Path.GetFullPath(pack), opened.Directory);
        Assert.Contains(opened.Manifest.Files, f => f.Path == file);
        var e = Assert.Throws<EdgeAvsrException>(() => AvsrModels.Load(pack, new AvsrModelOptions { Threads = 1, LoadVad = false }));
        Has(Path.Combine(opened.Directory, file) + ": ", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Has(file, OpenFails(pack).Message);
    }

    [Fact]
    public void Loader_ReportsTheSameMismatchAsTheInspection()
    {
        using var dir = new TempDir();
        string pack = parts.Build(dir, m => m with { VideoEncoder = m.VideoEncoder! with { OutputName = "features" } });
        var e = Assert.Throws<EdgeAvsrException>(() => AvsrModels.Load(pack, new AvsrModelOptions { Threads = 1, LoadVad = false }));
        Has("video encoder output is 'last_hidden_state', the manifest says 'features'", e.Message);
        Assert.Equal(OpenFails(pack).Message, e.Message);
    }

    [Fact]
    public void Loader_OpensEachComponentOnce_AndKeepsThem()
    {
        using var dir = new TempDir();
        var logged = new List<string>();
        using var models = AvsrModels.Load(parts.Build(dir), new AvsrModelOptions { Threads = 1, LoadVad = false, Log = logged.Add });
        Assert.Equal(EncoderKind.Audio, models.AudioEncoder!.Kind);
        Assert.Equal(EncoderKind.Video, models.VideoEncoder!.Kind);
        Assert.Equal(256, models.Projector.OutputDim);
        Assert.Equal(models.Projector.OutputDim, models.DecoderModel.InputWidth);
        Assert.Equal(parts.Special, models.DecoderModel.SpecialTokens);
        foreach (string part in new[] { "audio encoder: ", "video encoder: ", "projector: ", "decoder: decoder.gguf" })
        {
            Assert.Single(logged, line => line.StartsWith(part, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Open_Fp32Projector_WhenTheManifestSaysFp32()
    {
        using var dir = new TempDir();
        string pack = parts.Build(dir, m => m with { Projector = m.Projector with { Precision = ProjectorPrecision.Fp32 } },
            projector: "projector.fp32.safetensors");
        Has("fp32", PackInspection.Run(pack).Placements[2].Where);
        using var dir2 = new TempDir();
        Has("is a float state dict, the manifest says precision int8", OpenFails(parts.Build(dir2, projector: "projector.fp32.safetensors")).Message);
    }

    [Fact]
    public void BadHash_IsCaughtByVerify_NamingTheFile()
    {
        using var dir = new TempDir();
        string pack = parts.Build(dir);
        string target = Path.Combine(pack, "projector.safetensors");
        byte[] bytes = File.ReadAllBytes(target);
        bytes[^1] ^= 0x01; // same size, one bit changed
        File.WriteAllBytes(target, bytes);
        var e = OpenFails(pack, verify: true);
        Has("projector.safetensors", e.Message);
        Has("SHA-256", e.Message);
        var (code, stdout, stderr) = Invoke("info", pack, "--verify");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Has("SHA-256", stderr);
    }

    [Fact]
    public void MissingOrTruncatedFile_NamesIt()
    {
        using var dir = new TempDir();
        string pack = parts.Build(dir);
        File.Delete(Path.Combine(pack, "video_encoder.onnx"));
        var e = OpenFails(pack);
        Has("video_encoder.onnx: missing", e.Message);

        using var dir2 = new TempDir();
        string pack2 = parts.Build(dir2);
        string gguf = Path.Combine(pack2, "decoder.gguf");
        using (var s = new FileStream(gguf, FileMode.Open))
        {
            s.SetLength(s.Length - 10);
        }
        Has("decoder.gguf: ", OpenFails(pack2).Message);
        Has("the manifest records", OpenFails(pack2).Message);
    }

    [Fact]
    public void EncoderNarrowerThanProjector_NamesTheEncoderAndBothWidths()
    {
        using var dir = new TempDir();
        string pack = parts.Build(dir, m => m with
        {
            Projector = m.Projector with { AudioInputDim = 32 },
            AudioEncoder = m.AudioEncoder! with { OutputDim = 64 },
        }, projector: "projector.narrow.int8.safetensors");
        var e = OpenFails(pack);
        Has("audio encoder output width D=64 does not equal the projector's audio input width D=32", e.Message);
    }

    [Fact]
    public void ProjectorOutputNotLlmWidth_NamesTheDecoder()
    {
        using var dir = new TempDir();
        string pack = parts.Build(dir, m => m with { Projector = m.Projector with { OutputDim = 128 } }, projector: "projector.wide-out.int8.safetensors");
        var e = OpenFails(pack);
        Has("decoder embedding width llama.embedding_length=256 does not equal the projector's output width d_llm=128", e.Message);
    }

    [Fact]
    public void ManifestDisagreeingWithAFile_NamesThePart()
    {
        using var dir = new TempDir();
        Has("projector top_k (file metadata) is 2, the manifest says 3",
            OpenFails(parts.Build(dir, m => m with { Projector = m.Projector with { Routing = RoutingSettings.Create(3, 4, 2) } })).Message);
        using var dir2 = new TempDir();
        Has("video encoder output is 'last_hidden_state', the manifest says 'features'",
            OpenFails(parts.Build(dir2, m => m with { VideoEncoder = m.VideoEncoder! with { OutputName = "features" } })).Message);
        using var dir3 = new TempDir();
        Has("is an INT8 projector file, the manifest says precision fp32",
            OpenFails(parts.Build(dir3, m => m with { Projector = m.Projector with { Precision = ProjectorPrecision.Fp32 } })).Message);
        using var dir4 = new TempDir();
        Has("audio encoder file is a video encoder",
            OpenFails(parts.Build(dir4, audioEncoder: "video.onnx")).Message);
    }

    [Fact]
    public void SpecialTokenNotInTheVocabulary_NamesTheToken()
    {
        using var dir = new TempDir();
        var s = parts.Special;
        var e = OpenFails(parts.Build(dir, m => m with { SpecialTokens = s with { VideoEnd = 3 } }));
        Has("special token video_end: id 3 is", e.Message);
        Has("expects '</video>'", e.Message);
        using var dir2 = new TempDir();
        Has("special token pad (<pad>) id 1000000 is outside the vocabulary",
            OpenFails(parts.Build(dir2, m => m with { SpecialTokens = s with { Pad = 1_000_000 } })).Message);
    }

    [Theory]
    [InlineData("\"top_k\": 2,", "", "'projector.top_k' is missing")]
    [InlineData("\"schema_version\": 1", "\"schema_version\": 2", "schema_version 2; this build reads schema version 1")]
    [InlineData("\"waveform_normalization\": true", "\"waveform_normalization\": 1",
        "front_end.waveform_normalization is a number (1), expected true or false")]
    [InlineData("\"file\": \"decoder.gguf\"", "\"file\": \"../decoder.gguf\"", "must be a plain relative path")]
    [InlineData("\"cpu\"", "\"tpu\"", "'tpu' is not an execution provider")]
    [InlineData("\"output_dim\": 256", "\"output_dim\": 256, \"device\": \"gpu\"", "projector.device 'gpu' is not cpu or cuda")]
    public void BadManifest_NamesTheKey(string from, string to, string expected)
    {
        using var dir = new TempDir();
        var (pack, path) = PackWithManifestEdit(dir, from, to);
        var e = OpenFails(pack);
        Has(expected, e.Message);
        Has("manifest.json", e.Message);
    }

    [Fact]
    public void FixedFrontEnd_IsTheRuntimesOwn()
    {
        Assert.Equal(EdgeAvsr.Runtime.Audio.WhisperLogMel.SampleRate, PackFrontEnd.FixedSampleRate);
        Assert.Equal(StreamClock.FrameRate, PackFrontEnd.FixedVideoFps);
        Assert.Equal(EdgeAvsr.Runtime.Video.MouthRoi.CropSize, PackFrontEnd.FixedCropSize);
        Assert.Equal(EdgeAvsr.Runtime.Video.MouthRoi.RoiSize, EncoderSession.RoiSize);
        Assert.Equal(EdgeAvsr.Runtime.Audio.WhisperLogMel.MelBins, EncoderSession.MelBins);
        Assert.Equal(EdgeAvsr.Runtime.Audio.WhisperLogMel.Frames, EncoderSession.MelFrames);
        Assert.Equal(EdgeAvsr.Runtime.Video.MouthRoi.Mean, PackFrontEnd.FixedRoiMean);
        Assert.Equal(EdgeAvsr.Runtime.Video.MouthRoi.Std, PackFrontEnd.FixedRoiStd);
    }

    // docs/model-pack.md: the front-end values are the runtime's fixed constants (mel_frames 1..3000); anything else is an error.
    [Theory]
    [InlineData("\"roi_std\": 0.165", "\"roi_std\": 0", "front_end.roi_std is 0, expected 0.165")]
    [InlineData("\"roi_std\": 0.165", "\"roi_std\": -0.165", "front_end.roi_std is -0.165, expected 0.165")]
    [InlineData("\"roi_mean\": 0.421", "\"roi_mean\": 0.5", "front_end.roi_mean is 0.5, expected 0.421")]
    [InlineData("\"crop_size\": 96", "\"crop_size\": 64", "front_end.crop_size 64 is smaller than front_end.roi_size 88")]
    [InlineData("\"crop_size\": 96", "\"crop_size\": 128", "front_end.crop_size is 128, expected 96")]
    [InlineData("\"roi_size\": 88", "\"roi_size\": 64", "front_end.roi_size is 64, expected 88")]
    [InlineData("\"sample_rate\": 16000", "\"sample_rate\": 8000", "front_end.sample_rate is 8000, expected 16000")]
    [InlineData("\"mel_bins\": 80", "\"mel_bins\": 128", "front_end.mel_bins is 128, expected 80")]
    [InlineData("\"mel_frames\": 3000", "\"mel_frames\": 3001", "front_end.mel_frames is a number (3001), expected an integer in 1..3000")]
    [InlineData("\"video_fps\": 25", "\"video_fps\": 30", "front_end.video_fps is 30, expected 25")]
    public void FrontEndOutOfRange_IsRefused_ByOpenAndByInfo(string from, string to, string expected)
    {
        using var dir = new TempDir();
        var (pack, path) = PackWithManifestEdit(dir, from, to);
        var e = Assert.Throws<EdgeAvsrException>(() => ModelPack.Open(pack));
        Assert.StartsWith($"{path}: {expected}", e.Message, StringComparison.Ordinal);
        var (code, stdout, stderr) = Invoke("info", pack);
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Equal($"edgeavsr: {e.Message}", stderr.TrimEnd());
        Assert.Empty(stdout);
    }

    [Fact]
    public void ProjectorDevice_IsOptional_CpuWhenAbsent_CudaRoundTrips()
    {
        using var dir = new TempDir();
        string plain = parts.Build(dir);
        string path = Path.Combine(plain, PackManifest.FileName);
        Assert.DoesNotContain("\"device\"", File.ReadAllText(path), StringComparison.Ordinal);
        Assert.Equal(ProjectorDevice.Cpu, PackManifestJson.Read(path).Projector.Device);

        File.WriteAllText(path, File.ReadAllText(path).Replace("\"output_dim\": 256", "\"output_dim\": 256, \"device\": \"cuda\"", StringComparison.Ordinal));
        var read = PackManifestJson.Read(path);
        Assert.Equal(ProjectorDevice.Cuda, read.Projector.Device);
        byte[] written = PackManifestJson.ToUtf8(read);
        File.WriteAllBytes(path, written);
        var again = PackManifestJson.Read(path);
        Assert.Equal(read.Projector, again.Projector);
        Assert.Equal(written, PackManifestJson.ToUtf8(again));
        if (Interop.SmopCudaLibrary.Probe().DeviceCount == 0)
        {
            // Here (no GPU) the pack opens and its projector refuses in one line saying why; the cpu override still runs it.
            var e = Assert.Throws<EdgeAvsrException>(() => PackLoader.OpenProjector(ModelPack.Open(plain), threads: 1));
            Assert.Single(e.Message.Split('\n'));
            Assert.StartsWith("projector device cuda: ", e.Message, StringComparison.Ordinal);
            Assert.Matches("no CUDA device|libsmop_cuda.so not found", e.Message);
            Assert.DoesNotContain("cuda", PackLoader.OpenProjector(ModelPack.Open(plain), 1, ProjectorDevice.Cpu).KernelName, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void EncoderPrecision_IsOptional_Fp32WhenAbsent_Int8SetsTensorRtInt8AndTheCpuSettings()
    {
        using var dir = new TempDir();
        string plain = parts.Build(dir);
        string path = Path.Combine(plain, PackManifest.FileName);
        Assert.DoesNotContain("\"precision\": \"fp32\"", File.ReadAllText(path), StringComparison.Ordinal);
        var read = PackManifestJson.Read(path);
        var fp32 = read.AudioEncoder!;
        Assert.Equal(EncoderPrecision.Fp32, fp32.Precision);
        var fp32Options = PackLoader.EncoderSessionOptions(fp32);
        Assert.Equal("0", fp32Options.TensorRt.ToKeyValues().Single(kv => kv.Key == "trt_int8_enable").Value);
        Assert.Empty(fp32Options.ConfigEntries);

        var int8 = read with { AudioEncoder = fp32 with { Precision = EncoderPrecision.Int8 } };
        File.WriteAllBytes(path, PackManifestJson.ToUtf8(int8));
        Has("\"precision\": \"int8\"", File.ReadAllText(path));
        var again = PackManifestJson.Read(path).AudioEncoder!;
        Assert.Equal(EncoderPrecision.Int8, again.Precision);
        Assert.Equal(EncoderPrecision.Fp32, PackManifestJson.Read(path).VideoEncoder!.Precision);
        var options = PackLoader.EncoderSessionOptions(again, new PackEncoderOptions { Threads = 2 });
        var trt = options.TensorRt.ToKeyValues().ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal("1", trt["trt_int8_enable"]);
        Assert.False(trt.ContainsKey("trt_int8_calibration_table_name")); // the QDQ pairs carry the ranges
        Assert.Equal(Int8EncoderSessionConfig.Entries, options.ConfigEntries);
        Assert.Equal(2, options.IntraOpThreads);

        // Only the audio encoder's key (the projector's precision is int8 too, and written after it).
        string text = File.ReadAllText(path);
        int at = text.IndexOf("\"precision\": \"int8\"", text.IndexOf("\"audio_encoder\"", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.True(at < text.IndexOf("\"projector\"", StringComparison.Ordinal));
        File.WriteAllText(path, text[..at] + "\"precision\": \"int4\"" + text[(at + "\"precision\": \"int8\"".Length)..]);
        var e = Assert.Throws<EdgeAvsrException>(() => PackManifestJson.Read(path));
        Has("audio_encoder.precision 'int4' is not", e.Message);
    }

    [Fact]
    public void Info_PrintsManifestSizesAndPlacement()
    {
        using var dir = new TempDir();
        string pack = parts.Build(dir);
        var (code, stdout, stderr) = Invoke("info", pack, "--verify");
        Assert.True(code == 0, stderr);
        Has("projector dedr, 4 experts, top-2, pooling audio 4 video 2, int8", stdout);
        Has("every SHA-256 verified", stdout);
        Has("audio encoder  audio_encoder.onnx", stdout);
        Has("llama.cpp on CPU [", stdout);
        Has("prompt    avsr: Transcribe speech and video to text.", stdout);
        long total = Directory.GetFiles(pack).Where(f => Path.GetFileName(f) != PackManifest.FileName).Sum(f => new FileInfo(f).Length);
        Has($"total     {total.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} bytes", stdout);
    }
}
