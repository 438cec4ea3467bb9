using EdgeAvsr.Cli.Commands;
using EdgeAvsr.Cli;
using EdgeAvsr.Runtime.Encoders;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Runtime.Tests.Encoders;

/// <summary>
/// Both tiny encoders exported by Models/encoders/export_encoder.py (seeded random weights), with PyTorch's output on
/// the same inputs: a log-mel [80, 3000], 7 and 3 mouth-crop frames (the second through weights re-loaded from the
/// saved safetensors checkpoint, so the checkpoint path is checked too).
/// </summary>
public sealed class TinyEncoders : IDisposable
{
    private const string Script = "Models/encoders/export_encoder.py";
    private readonly TempDir _dir = new();

    public TinyEncoders()
    {
        var rng = new Random(17);
        NpyFile.Write(Mel, Enumerable.Range(0, 80 * 3000).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray(), 80, 3000);
        NpyFile.Write(Roi7, Enumerable.Range(0, 7 * 88 * 88).Select(_ => (float)((rng.NextDouble() - 0.421) / 0.165)).ToArray(), 7, 88, 88);
        NpyFile.Write(Roi3, Enumerable.Range(0, 3 * 88 * 88).Select(_ => (float)((rng.NextDouble() - 0.421) / 0.165)).ToArray(), 3, 88, 88);
        Python.Script(Script, "export", "--arch", "whisper", "--size", "tiny", "--seed", "3", "--out", Audio, "--check-input", Mel, "--check-output",
            File("audio_ref.npy"), "--save-weights", File("audio.safetensors"));
        Python.Script(Script, "export", "--arch", "whisper", "--checkpoint", File("audio.safetensors"), "--out", File("audio_ckpt.onnx"),
            "--check-input", Mel, "--check-output", File("audio_ckpt_ref.npy"));
        Python.Script(Script, "export", "--arch", "avhubert", "--size", "tiny", "--seed", "4", "--out", Video, "--check-input", Roi7,
            "--check-output", File("video7_ref.npy"), "--save-weights", File("video.safetensors"));
        Python.Script(Script, "export", "--arch", "avhubert", "--checkpoint", File("video.safetensors"), "--out", File("video_ckpt.onnx"),
            "--check-input", Roi3, "--check-output", File("video3_ref.npy"));
        // The audio graph with its input renamed: a model that is ONNX but not an encoder this runtime accepts.
        Python.Run($$"""
            import onnx
            m = onnx.load(r"{{Audio}}")
            m.graph.input[0].name = "mel"
            for n in m.graph.node:
                n.input[:] = ["mel" if i == "input_features" else i for i in n.input]
            onnx.save(m, r"{{File("renamed.onnx")}}")
            """);
        // An audio encoder by its signature that loads but fails inside Run: 80 x 3000 values cannot be reshaped
        // to [1, 7, -1], which ORT finds only when the (symbolic) input shape is known.
        Python.Run($$"""
            import onnx, numpy as np
            from onnx import helper, TensorProto, numpy_helper
            g = helper.make_graph([helper.make_node("Reshape", ["input_features", "shape"], ["states"])], "runfail",
                [helper.make_tensor_value_info("input_features", TensorProto.FLOAT, ["b", 80, "t"])],
                [helper.make_tensor_value_info("states", TensorProto.FLOAT, [1, "T", "D"])],
                [numpy_helper.from_array(np.array([1, 7, -1], dtype=np.int64), "shape")])
            m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
            m.ir_version = 8
            onnx.checker.check_model(m)
            onnx.save(m, r"{{RunFails}}")
            """);
    }

    public string Mel => File("mel.npy");

    public string Roi7 => File("roi7.npy");

    public string Roi3 => File("roi3.npy");

    public string Audio => File("audio.onnx");

    public string Video => File("video.onnx");

    public string RunFails => File("runfail.onnx");

    public string File(string name) => _dir.File(name);

    public void Dispose() => _dir.Dispose();
}

[Collection("console")]
public class EncoderTests(TinyEncoders m) : IClassFixture<TinyEncoders>
{
    private static (int Code, string Out, string Err) Invoke(params string[] args) => CliHarness.Edgeavsr(args);

    /// <summary>max |a - b| / max |b| over the first <paramref name="rows"/> rows of [1, T, D] arrays.</summary>
    private static double Relative(NpyArray<float> actual, NpyArray<float> reference, int rows)
    {
        int d = (int)reference.Shape[2];
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < rows * d; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs((double)actual.Data[i] - reference.Data[i]));
            maxRef = Math.Max(maxRef, Math.Abs((double)reference.Data[i]));
        }
        Assert.True(maxRef > 0.5, "reference is degenerate");
        return maxDiff / maxRef;
    }

    [Fact]
    public void AudioEncoder_OnOrt_EqualsPyTorch_AndIsTrimmedByTheSidecar()
    {
        using var dir = new TempDir();
        string mel = dir.File("utt.npy");
        System.IO.File.Copy(m.Mel, mel);
        AtomicFile.WriteAllText(dir.File("utt.json"), "{\"sample_rate\": 16000, \"duration_seconds\": 3.217}");
        var result = EncodeCommand.Run(new EncodeRequest { ModelPath = m.Audio, InputPath = mel, OutputPath = dir.File("states.npy") });
        Assert.Equal(EncoderKind.Audio, result.Kind);
        Assert.Equal(160, result.States);
        Assert.Contains("utt.json", result.Trim, StringComparison.Ordinal);
        var states = NpyFile.ReadFloat32(dir.File("states.npy"));
        Assert.Equal(new long[] { 1, 160, 64 }, states.Shape);
        Assert.True(Relative(states, NpyFile.ReadFloat32(m.File("audio_ref.npy")), 160) <= 1e-4);

        // --audio-seconds wins over the sidecar; without either, all 1500 states (and still equal to PyTorch).
        Assert.Equal(25, EncodeCommand.Run(new EncodeRequest { ModelPath = m.Audio, InputPath = mel, OutputPath = dir.File("s2.npy"),
            AudioSeconds = 0.2 }).States);
        var all = EncodeCommand.Run(new EncodeRequest { ModelPath = m.Audio, InputPath = m.Mel, OutputPath = dir.File("s3.npy") });
        Assert.Equal(1500, all.States);
        Assert.True(Relative(NpyFile.ReadFloat32(dir.File("s3.npy")), NpyFile.ReadFloat32(m.File("audio_ref.npy")), 1500) <= 1e-4);
    }

    [Fact]
    public void VideoEncoder_OnOrt_EqualsPyTorch_AtAnyFrameCount_AndFromTheCheckpoint()
    {
        using var dir = new TempDir();
        var r7 = EncodeCommand.Run(new EncodeRequest { ModelPath = m.Video, InputPath = m.Roi7, OutputPath = dir.File("v7.npy") });
        Assert.Equal((EncoderKind.Video, 7, 64), (r7.Kind, r7.States, r7.Dim));
        Assert.True(Relative(NpyFile.ReadFloat32(dir.File("v7.npy")), NpyFile.ReadFloat32(m.File("video7_ref.npy")), 7) <= 1e-4);
        // Reference computed by a module that loaded video_encoder.* from the safetensors the first export saved.
        EncodeCommand.Run(new EncodeRequest { ModelPath = m.Video, InputPath = m.Roi3, OutputPath = dir.File("v3.npy") });
        var v3 = NpyFile.ReadFloat32(dir.File("v3.npy"));
        Assert.Equal(new long[] { 1, 3, 64 }, v3.Shape);
        Assert.True(Relative(v3, NpyFile.ReadFloat32(m.File("video3_ref.npy")), 3) <= 1e-4);
    }

    [Fact]
    public void ExportScripts_LoadWeightsFromTheCheckpointPrefix_AndRefuseAnIncompleteOne()
    {
        // The module built from audio_encoder.* of the saved safetensors gives the same states as ORT on the seeded export.
        using var dir = new TempDir();
        EncodeCommand.Run(new EncodeRequest { ModelPath = m.Audio, InputPath = m.Mel, OutputPath = dir.File("a.npy") });
        Assert.True(Relative(NpyFile.ReadFloat32(dir.File("a.npy")), NpyFile.ReadFloat32(m.File("audio_ckpt_ref.npy")), 1500) <= 1e-4);

        // Drop one tensor: the script names it.
        string partial = dir.File("partial.safetensors");
        Python.Run($$"""
            import sys
            sys.path.insert(0, r"{{Path.Combine(Python.RepoRoot, "Models", "encoders")}}")
            import encoders
            meta = {}
            sd = encoders.read_safetensors(r"{{m.File("video.safetensors")}}", meta)
            del sd["video_encoder.encoder.layers.1.fc2.weight"]
            encoders.write_safetensors(r"{{partial}}", sd, meta)
            """);
        var e = Assert.Throws<InvalidOperationException>(() => Python.Script("Models/encoders/export_encoder.py", "export", "--arch", "avhubert",
            "--checkpoint", partial, "--out", dir.File("x.onnx")));
        Assert.Contains("missing video_encoder.encoder.layers.1.fc2.weight", e.Message, StringComparison.Ordinal);
        Assert.False(System.IO.File.Exists(dir.File("x.onnx")));
    }

    [Theory]
    [InlineData(0.0, 25)]
    [InlineData(0.499, 25)]
    [InlineData(0.52, 26)]
    [InlineData(1.0, 50)]
    [InlineData(3.217, 160)]
    [InlineData(30.0, 1500)]
    [InlineData(41.5, 1500)]
    public void KeptAudioStates_IsMaxIntSecondsTimes50And25(double seconds, int expected) =>
        Assert.Equal(expected, EncoderSession.KeptAudioStates(seconds));

    [Fact]
    public void Cli_ProviderList_TensorRtCudaCpu_LogsTwoFailures_AndRunsOnCpu()
    {
        using var dir = new TempDir();
        var (code, stdout, stderr) = Invoke("encode", "--model", m.Video, "--input", m.Roi3, "--out", dir.File("v.npy"), "--ep", "tensorrt,cuda,cpu",
            "--trt-fp16", "--trt-engine-cache", dir.File("engines"), "--threads", "1");
        Assert.True(code == 0, stderr);
        var lines = stderr.TrimEnd().Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("edgeavsr: execution provider tensorrt unavailable: ", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("edgeavsr: execution provider cuda unavailable: ", lines[1], StringComparison.Ordinal);
        Assert.Equal("edgeavsr: execution provider: cpu (from --ep tensorrt,cuda,cpu)", lines[2]);
        Assert.Contains("video encoder on cpu: 3 states x 64", stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tensorrt")]
    [InlineData("tensorrt,cuda")]
    public void Cli_ProviderList_WithoutCpu_IsAnError_NeverASilentCpuRun(string ep)
    {
        using var dir = new TempDir();
        var (code, stdout, stderr) = Invoke("encode", "--model", m.Audio, "--input", m.Mel, "--out", dir.File("a.npy"), "--ep", ep);
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains($"edgeavsr: none of the execution providers listed ({ep}) can be used here", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("encoder on", stdout, StringComparison.Ordinal);
        Assert.False(System.IO.File.Exists(dir.File("a.npy")));
    }

    public static TheoryData<string, string> BadInputs => new()
    {
        { "not-onnx", "ONNX Runtime cannot load this model" },
        { "truncated-model", "ONNX Runtime cannot load this model (InvalidProtobuf)" },
        { "renamed-input", "input 'mel' float32 [1, 80, 3000] is not an encoder input; expected an audio encoder input 'input_features'" },
        { "mel-shape", "shape [80, 2999] is not a log-mel for the audio encoder" },
        { "roi-into-audio", "shape [3, 88, 88] is not a log-mel for the audio encoder" },
        { "mel-into-video", "is not mouth crops for the video encoder" },
        { "seconds-on-video", "--audio-seconds applies to an audio encoder" },
        { "sidecar-no-key", "no \"duration_seconds\" key" },
        { "negative-seconds", "is not a non-negative number of seconds" },
        { "missing-model", "model file not found" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void Cli_BadInput_IsOneClearLine_Exit2_NoOutput(string kind, string expected)
    {
        using var dir = new TempDir();
        string model = m.Audio, input = m.Mel;
        var extra = new List<string>();
        switch (kind)
        {
            case "not-onnx":
                model = dir.File("enc.onnx");
                System.IO.File.WriteAllText(model, "definitely not a protobuf");
                break;
            case "truncated-model":
                model = dir.File("half.onnx");
                byte[] real = System.IO.File.ReadAllBytes(m.Audio);
                System.IO.File.WriteAllBytes(model, real[..(real.Length / 2)]);
                break;
            case "renamed-input":
                model = m.File("renamed.onnx");
                break;
            case "mel-shape":
                input = dir.File("short.npy");
                NpyFile.Write(input, new float[80 * 2999], 80, 2999);
                break;
            case "roi-into-audio":
                input = m.Roi3;
                break;
            case "mel-into-video":
                model = m.Video;
                break;
            case "seconds-on-video":
                model = m.Video;
                input = m.Roi3;
                extra.AddRange(["--audio-seconds", "2"]);
                break;
            case "sidecar-no-key":
                input = dir.File("x.npy");
                System.IO.File.Copy(m.Mel, input);
                System.IO.File.WriteAllText(dir.File("x.json"), "{\"seconds\": 2}");
                break;
            case "negative-seconds":
                extra.AddRange(["--audio-seconds", "-1"]);
                break;
            case "missing-model":
                model = dir.File("nothing.onnx");
                break;
        }
        var (code, _, stderr) = Invoke(["encode", "--model", model, "--input", input, "--out", dir.File("out.npy"), .. extra]);
        Assert.Equal(ExitCodes.InvalidInput, code);
        string last = stderr.TrimEnd().Split('\n')[^1];
        Assert.StartsWith("edgeavsr: ", last, StringComparison.Ordinal);
        Assert.Contains(expected, last, StringComparison.Ordinal);
        Assert.False(System.IO.File.Exists(dir.File("out.npy")));
    }

    [Fact]
    public void Cli_ModelThatFailsInsideRun_IsOneLineNamingTheFileAndQuotingOrt_Exit2()
    {
        using var dir = new TempDir();
        var (code, _, stderr) = Invoke("encode", "--model", m.RunFails, "--input", m.Mel, "--out", dir.File("out.npy"), "--audio-seconds", "2");
        Assert.True(code == ExitCodes.InvalidInput, stderr);
        var errors = stderr.TrimEnd().Split('\n').Where(l => !l.StartsWith("edgeavsr: execution provider", StringComparison.Ordinal)).ToArray();
        string line = Assert.Single(errors);
        Assert.StartsWith($"edgeavsr: {m.RunFails}: ONNX Runtime cannot run this model on these inputs (Fail): ", line, StringComparison.Ordinal);
        Assert.Contains("The input tensor cannot be reshaped to the requested shape", line, StringComparison.Ordinal);
        Assert.False(System.IO.File.Exists(dir.File("out.npy")));
    }

    [Theory]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    public void EncodeAudio_RefusesABadDuration_BeforeRunningTheEncoder(double seconds)
    {
        // The model fails inside Run, so only a check made before Run can report the duration.
        using var encoder = EncoderSession.Open(m.RunFails);
        var e = Assert.Throws<EdgeAvsrException>(() => encoder.EncodeAudio(new float[EncoderSession.MelBins * EncoderSession.MelFrames], seconds));
        Assert.Equal($"audio duration {seconds} s is not a non-negative number of seconds", e.Message);
    }
}
