using System.Text.Json;
using EdgeAvsr.Quantize.Conversion;
using EdgeAvsr.Quantize.Pack;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Encoders;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Onnx;
using EdgeAvsr.Runtime.Pack;
using EdgeAvsr.Runtime.Projector;
using EdgeAvsr.Synthetic;

namespace EdgeAvsr.Quantize.Tests;

[Collection("console")]
public sealed class PackBuilderTests
{
    private readonly SyntheticCheckpointFixture f = SyntheticCheckpointFixture.Shared;

    private static (int Code, string Out, string Err) Invoke(params string[] args) =>
        ConsoleCapture.Run(() => Cli.Program.BuildRoot().Parse(args).Invoke());

    private PackRequest Request(string output, ProjectorPrecision precision = ProjectorPrecision.Int8) => new()
    {
        Checkpoint = f.Checkpoint,
        TrainConfig = f.TrainConfigPath,
        HfDirectory = f.Hf,
        AudioEncoder = f.File("audio.onnx"),
        VideoEncoder = f.File("video.onnx"),
        LlmType = LlamaFileType.F32,
        ProjectorPrecision = precision,
        OutputDirectory = output,
        Threads = 1,
    };

    [Fact]
    public void Int8Pack_OpensAndVerifies_WithTheTrainConfigsValues_AndACalibrationReport()
    {
        using var dir = new TempDir();
        var result = PackBuilder.Build(Request(dir.File("pack")));
        var pack = PackInspection.Run(dir.File("pack"), new PackInspectionOptions { VerifyHashes = true, EncoderProviders = [ExecutionProvider.Cpu] }).Pack;
        var m = pack.Manifest;
        var spec = f.Spec;
        Assert.Equal([AvsrTask.Avsr], m.Tasks);
        Assert.Equal((ProjectorPrecision.Int8, SmopLayout.Dedr, spec.Experts, spec.TopK, spec.AudioPool, spec.VideoPool, spec.IntermediateSize,
            spec.Llama.HiddenSize),
            (m.Projector.Precision, m.Projector.Layout, m.Projector.Experts, m.Projector.Routing.TopK, m.Projector.Routing.AudioPool,
                m.Projector.Routing.VideoPool, m.Projector.HiddenDim, m.Projector.OutputDim));
        Assert.Equal((spec.Rank, spec.Alpha, "f32", spec.Llama.HiddenSize), (m.Decoder.LoraReduction, m.Decoder.LoraAlpha, m.Decoder.Type,
            m.Decoder.EmbeddingDim));
        Assert.Equal("Transcribe speech and video to text.", m.Prompts[AvsrTask.Avsr]);
        Assert.Equal((15, 32), (m.Decoding.Beams, m.Decoding.MaxNewTokens));
        Assert.Equal(64, m.AudioEncoder!.OutputDim);
        Assert.Contains(m.Files, x => x.Path == CalibrationReport.FileName);
        Assert.DoesNotContain(Directory.GetDirectories(dir.Path), d => Path.GetFileName(d).Contains(".tmp-", StringComparison.Ordinal));

        var report = result.Calibration!;
        Assert.StartsWith("synthetic", report.Source, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir.File("pack"), CalibrationReport.FileName)));
        Assert.StartsWith("synthetic", json.RootElement.GetProperty("features").GetString(), StringComparison.Ordinal);
        Assert.Equal(["audio", "video"], report.Mixtures.Select(x => x.Modality));
        var weights = SmopWeights.Load(f.Checkpoint, SmopLayout.Dedr);
        foreach (var mix in report.Mixtures)
        {
            Assert.Equal(mix.Tokens * spec.TopK, mix.Experts.Sum(e => e.Tokens));
            Assert.InRange(mix.MixedRelativeError, 1e-6, 0.05);
            Assert.All(mix.Experts.Where(e => e.Tokens > 0), e => Assert.InRange(e.RelativeError, 1e-6, 0.05));
            // Tokens received, recomputed in fp64: the same seeded features, pooled, routed by softmax top-k.
            var mixture = mix.Modality == "audio" ? weights.Audio! : weights.Video!;
            int pool = mix.Modality == "audio" ? spec.AudioPool : spec.VideoPool;
            var frames = SyntheticProjector.Features(400, mixture.InputDim, mix.Modality == "audio" ? 11 : 12);
            Assert.Equal(ReferenceCounts(frames, pool, mixture, spec.TopK), mix.Experts.Select(e => e.Tokens).ToArray());
        }
    }

    private static int[] ReferenceCounts(FloatMatrix frames, int pool, MixtureWeights mixture, int k)
    {
        int d = frames.Columns, e = mixture.ExpertCount, tokens = frames.Rows / pool;
        var counts = new int[e];
        for (int t = 0; t < tokens; t++)
        {
            var logits = new double[e];
            for (int j = 0; j < e; j++)
            {
                double s = 0;
                for (int c = 0; c < d; c++)
                {
                    double x = 0;
                    for (int p = 0; p < pool; p++)
                    {
                        x += frames.Data[(t * pool + p) * d + c];
                    }
                    s += x / pool * mixture.Router[j * d + c];
                }
                logits[j] = s;
            }
            foreach (int j in Enumerable.Range(0, e).OrderByDescending(j => logits[j]).Take(k))
            {
                counts[j]++;
            }
        }
        return counts;
    }

    [Theory]
    [InlineData(SmopLayout.Jejr)]
    [InlineData(SmopLayout.Dejr)]
    public void OtherLayouts_BuildAndOpen(SmopLayout layout)
    {
        using var dir = new TempDir();
        var spec = f.Spec with { Layout = layout };
        SyntheticCheckpoint.Write(dir.File("ckpt.safetensors"), spec);
        SyntheticCheckpoint.TrainConfigFor(spec).Write(dir.File("train.json"));
        PackBuilder.Build(Request(dir.File("pack")) with { Checkpoint = dir.File("ckpt.safetensors"), TrainConfig = dir.File("train.json") });
        var pack = PackInspection.Run(dir.File("pack"), new PackInspectionOptions { VerifyHashes = true, EncoderProviders = [ExecutionProvider.Cpu] }).Pack;
        Assert.Equal(layout, pack.Manifest.Projector.Layout);
        // The train config's layout must match the checkpoint's keys.
        var wrong = SyntheticCheckpoint.TrainConfigFor(f.Spec);
        wrong.Write(dir.File("wrong.json"));
        var e = Assert.Throws<EdgeAvsrException>(() =>
            PackBuilder.Build(Request(dir.File("pack2")) with { Checkpoint = dir.File("ckpt.safetensors"), TrainConfig = dir.File("wrong.json") }));
        Assert.Contains("layout dedr needs", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Fp32Pack_HoldsOnlyTheProjectorKeys_AndOpens()
    {
        using var dir = new TempDir();
        var result = PackBuilder.Build(Request(dir.File("pack"), ProjectorPrecision.Fp32));
        Assert.Null(result.Calibration);
        var pack = PackInspection.Run(dir.File("pack"), new PackInspectionOptions { VerifyHashes = true }).Pack;
        using var proj = SafetensorsFile.Open(Path.Combine(dir.File("pack"), pack.Manifest.Projector.File));
        Assert.All(proj.Tensors.Keys, k =>
            Assert.True(k.StartsWith("audio_proj.", StringComparison.Ordinal) || k.StartsWith("video_proj.", StringComparison.Ordinal), k));
        using var ckpt = SafetensorsFile.Open(f.Checkpoint);
        Assert.Equal(ckpt.Tensors.Keys.Count(k => k.StartsWith("audio_proj.", StringComparison.Ordinal)
            || k.StartsWith("video_proj.", StringComparison.Ordinal)), proj.Tensors.Count);
    }

    [Fact]
    public void MissingTrainingArgument_IsAnError_AndLeavesNothingBehind()
    {
        using var dir = new TempDir();
        string config = dir.File("train.json");
        File.WriteAllText(config, File.ReadAllText(f.TrainConfigPath).Replace("\"downsample-ratio-video\": 2,", "", StringComparison.Ordinal));
        var e = Assert.Throws<EdgeAvsrException>(() => PackBuilder.Build(Request(dir.File("pack")) with { TrainConfig = config }));
        Assert.Contains("'downsample-ratio-video' is missing", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetDirectories(dir.Path));
    }

    [Theory]
    [InlineData("\"MoP-topk\": 2", "\"MoP-topk\": 5", "training argument 'MoP-topk' 5 must be between 1 and training argument 'MoP-experts' 4")]
    [InlineData("\"downsample-ratio-audio\": 4", "\"downsample-ratio-audio\": 0", "training argument 'downsample-ratio-audio' 0 must be >= 1")]
    public void BadRoutingArgument_IsNamed_AndLeavesNothingBehind(string from, string to, string expected)
    {
        using var dir = new TempDir();
        string config = dir.File("train.json");
        string text = File.ReadAllText(f.TrainConfigPath);
        Assert.Contains(from, text, StringComparison.Ordinal);
        File.WriteAllText(config, text.Replace(from, to, StringComparison.Ordinal));
        var e = Assert.Throws<EdgeAvsrException>(() => PackBuilder.Build(Request(dir.File("pack")) with { TrainConfig = config }));
        Assert.Equal($"{config}: {expected}", e.Message.Split(" (frames")[0]);
        Assert.Empty(Directory.GetDirectories(dir.Path));
    }

    [Fact]
    public void EncoderOfTheWrongWidthOrKind_IsNamed_AndLeavesNothingBehind()
    {
        using var dir = new TempDir();
        string narrow = dir.File("narrow.safetensors");
        SyntheticCheckpoint.Write(narrow, f.Spec with { AudioDim = 32 });
        var e = Assert.Throws<EdgeAvsrException>(() => PackBuilder.Build(Request(dir.File("pack")) with { Checkpoint = narrow }));
        Assert.Contains("audio encoder output width D=64 does not equal the projector's audio input width D=32", e.Message, StringComparison.Ordinal);
        var kind = Assert.Throws<EdgeAvsrException>(() => PackBuilder.Build(Request(dir.File("pack")) with { AudioEncoder = f.File("video.onnx") }));
        Assert.Contains("given as the audio encoder, but it is a video encoder", kind.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetDirectories(dir.Path));
    }

    [Fact]
    public void BrokenEncoder_NamesTheFileThePackerWasGiven_NotItsTemporaryCopy()
    {
        using var dir = new TempDir();
        string broken = dir.File("broken.onnx");
        File.WriteAllBytes(broken, [.. "not an onnx model"u8, 0, 1, 2, 3]);
        var e = Assert.Throws<EdgeAvsrException>(() => PackBuilder.Build(Request(dir.File("pack")) with { AudioEncoder = broken }));
        Assert.StartsWith($"{broken}: ONNX Runtime cannot load this model", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(".tmp-", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetDirectories(dir.Path));
    }

    [Fact]
    public void Calibration_OnMedia_RunsThePacksEncoders_AndSaysSo()
    {
        using var dir = new TempDir();
        string media = dir.File("media");
        Directory.CreateDirectory(media);
        Run("espeak-ng", "-w", Path.Combine(media, "a.wav"), "hello edge device");
        // A 2 s mouth-crop clip (96x96, 25 fps) with a tone as its audio track.
        Run("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=96x96:rate=25:duration=2", "-f", "lavfi", "-i",
            "sine=frequency=300:duration=2:sample_rate=16000",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", Path.Combine(media, "b.mp4"));
        var result = PackBuilder.Build(Request(dir.File("pack")) with { CalibrationDirectory = media });
        var report = result.Calibration!;
        Assert.StartsWith("media: ", report.Source, StringComparison.Ordinal);
        Assert.Contains("2 file(s) ->", report.Source, StringComparison.Ordinal);
        Assert.Contains("1 file(s) -> 50 video frames", report.Source, StringComparison.Ordinal);
        var video = report.Mixtures.Single(m => m.Modality == "video");
        Assert.Equal(50 / f.Spec.VideoPool, video.Tokens);
        Assert.Equal(video.Tokens * f.Spec.TopK, video.Experts.Sum(e => e.Tokens));
        Assert.InRange(video.MixedRelativeError, 1e-6, 0.05);
        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir.File("pack"), CalibrationReport.FileName)));
        Assert.StartsWith("media: ", json.RootElement.GetProperty("features").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Int8Encoders_AreQuantizedOnTheMedia_RecordedInTheManifest_AndOpenWithTensorRtInt8()
    {
        using var dir = new TempDir();
        string media = dir.File("media");
        Directory.CreateDirectory(media);
        foreach (string clip in Directory.GetFiles(Path.Combine(Tools.RepoRoot, "Models", "demo", "samples"), "*.mp4").Order(StringComparer.Ordinal).Take(2))
        {
            File.Copy(clip, Path.Combine(media, Path.GetFileName(clip)));
        }
        var result = PackBuilder.Build(Request(dir.File("pack"), ProjectorPrecision.Fp32) with
        {
            EncoderPrecision = EncoderPrecision.Int8,
            CalibrationDirectory = media,
        });
        var pack = ModelPack.Open(result.Directory);
        foreach (var e in new[] { pack.Manifest.AudioEncoder!, pack.Manifest.VideoEncoder! })
        {
            Assert.Equal(EncoderPrecision.Int8, e.Precision);
            Assert.EndsWith(".int8.onnx", e.File, StringComparison.Ordinal);
            Assert.True(PackLoader.EncoderSessionOptions(e).TensorRt.Int8);
            Assert.Contains(pack.Manifest.Files, x => x.Path == e.File.Replace(".onnx", ".report.json", StringComparison.Ordinal));
        }
        Assert.False(File.Exists(Path.Combine(result.Directory, PackBuilder.AudioEncoderFile)));
        string manifest = File.ReadAllText(Path.Combine(result.Directory, "manifest.json"));
        Assert.Equal(2, manifest.Split("\"precision\": \"int8\"").Length - 1);
        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(result.Directory, "audio_encoder.int8.report.json")));
        Assert.InRange(json.RootElement.GetProperty("output_relative_l2").GetProperty("minmax").GetProperty("all_inputs").GetDouble(), 1e-5, 0.1);
    }

    [Fact]
    public void Int8Encoders_WithoutCalibrationMedia_AreRefused_AndLeaveNothingBehind()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<EdgeAvsrException>(() => PackBuilder.Build(Request(dir.File("pack")) with { EncoderPrecision = EncoderPrecision.Int8 }));
        Assert.Contains("--encoder-precision int8 needs --calibration", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    private static void Run(string tool, params string[] args) => Tools.Run(tool, args);

    [Fact]
    public void Cli_BuildsAQ8Pack_AndRefusesToOverwriteIt()
    {
        using var dir = new TempDir();
        string[] args = ["pack", "--checkpoint", f.Checkpoint, "--train-config", f.TrainConfigPath, "--hf", f.Hf, "--audio-encoder", f.File("audio.onnx"),
            "--video-encoder", f.File("video.onnx"), "--llm-type", "q8_0", "--threads", "1", "--out", dir.File("pack")];
        var (code, stdout, stderr) = Invoke(args);
        Assert.True(code == 0, stderr);
        Assert.Contains("calibration: synthetic", stdout, StringComparison.Ordinal);
        Assert.Equal("q8_0", PackInspection.Run(dir.File("pack")).Pack.Manifest.Decoder.Type);
        (code, stdout, stderr) = Invoke(args);
        Assert.Equal(2, code);
        Assert.Contains("already exists", stderr, StringComparison.Ordinal);
    }
}
