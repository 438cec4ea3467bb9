using EdgeAvsr.Cli;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Interop;
using EdgeAvsr.Runtime.Projector;
using EdgeAvsr.Runtime.Tests.Formats;

namespace EdgeAvsr.Runtime.Tests.Cli;

[Collection("console")]
public class CliTests
{
    private static (int Code, string Out, string Err) Invoke(params string[] args) => CliHarness.Edgeavsr(args);

    private static string Weights(TempDir dir, SmopLayout layout = SmopLayout.Dedr)
    {
        string path = dir.File($"{layout}.safetensors");
        SyntheticProjector.Write(path, new SyntheticProjectorSpec { Layout = layout, Experts = 4, AudioDim = 32, VideoDim = 32, HiddenDim = 24,
            OutputDim = 20 });
        return path;
    }

    [Fact]
    public void Project_WritesTokensAndExperts_FromFloatAndInt8Files()
    {
        using var dir = new TempDir();
        string w = Weights(dir);
        var audio = SyntheticProjector.Features(41, 32, 1);
        NpyFile.Write(dir.File("a.npy"), audio.Data, 1, 41, 32);
        NpyFile.Write(dir.File("v.npy"), SyntheticProjector.Features(21, 32, 2).Data, 21, 32);
        var (code, stdout, stderr) = Invoke("project", "--weights", w, "--layout", "dedr", "--top-k", "2", "--audio", dir.File("a.npy"), "--video",
            dir.File("v.npy"), "--out", dir.File("out"));
        Assert.True(code == 0, stderr);
        Assert.Contains("audio_proj: expert rows computed", stdout, StringComparison.Ordinal);
        var tokens = NpyFile.ReadFloat32(dir.File("out/audio_tokens.npy"));
        Assert.Equal(new long[] { 10, 20 }, tokens.Shape);
        Assert.Equal(new long[] { 10, 2 }, NpyFile.ReadInt32(dir.File("out/experts_audio.npy")).Shape);
        Assert.Equal(new long[] { 10, 20 }, NpyFile.ReadFloat32(dir.File("out/video_tokens.npy")).Shape);
        Assert.Equal(new long[] { 10, 2 }, NpyFile.ReadInt32(dir.File("out/experts_video.npy")).Shape);

        // --precision int8 on the float file == the INT8 file written for it.
        Int8ProjectorFile.Write(dir.File("w8.safetensors"), SmopWeights.Load(w, SmopLayout.Dedr), RoutingSettings.Create(2, 4, 2));
        Assert.Equal(0, Invoke("project", "--weights", w, "--layout", "dedr", "--top-k", "2", "--precision", "int8", "--audio", dir.File("a.npy"),
            "--out", dir.File("q1")).Code);
        Assert.Equal(0, Invoke("project", "--weights", dir.File("w8.safetensors"), "--audio", dir.File("a.npy"), "--out", dir.File("q2")).Code);
        Assert.Equal(NpyFile.ReadFloat32(dir.File("q1/audio_tokens.npy")).Data, NpyFile.ReadFloat32(dir.File("q2/audio_tokens.npy")).Data);
    }

    [Fact]
    public void Encode_ModelThatFailsToLoad_IsOneLine_NotTheProviderNotesBeforeIt()
    {
        // Before: three "execution provider ..." notes (tensorrt and cuda unavailable, cpu chosen), then the error.
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("broken.onnx"), [.. "not an onnx model"u8]);
        NpyFile.Write(dir.File("mel.npy"), new float[80 * 3000], 80, 3000);
        var (code, _, stderr) = Invoke("encode", "--model", dir.File("broken.onnx"), "--input", dir.File("mel.npy"), "--out", dir.File("out.npy"),
            "--ep", "tensorrt,cuda,cpu");
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Single(stderr.TrimEnd().Split('\n'));
        Assert.StartsWith($"edgeavsr: {dir.File("broken.onnx")}: ONNX Runtime cannot load this model (InvalidProtobuf)", stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("out.npy")));
    }

    public static TheoryData<string, string> BadInputs => new()
    {
        { "wrong-width", "a.npy: audio features have D=7, the audio_proj weights expect D=32" },
        { "no-video-mixture", "v.npy: the projector weights have no video projector; this model cannot take video input" },
        { "topk-over-smaller-mixture", "top-k 3 must be between 1 and the 2 experts of video_proj" },
        { "half-mixture", "Dedr.safetensors: tensor 'audio_proj.gate.weight' is missing (the file has other audio_proj.* tensors)" },
        { "negative-threads", "--threads must be 0 (one per core) or more, got -3" },
        { "out-under-a-file", "blocker/out/audio_tokens.npy: cannot write:" },
        { "empty", "empty input" },
        { "not-npy", "not a .npy file" },
        { "3d", "expected [T, D] or [1, T, D]" },
        { "truncated-weights", "exceeds the file" },
        { "missing-key", "tensor 'audio_proj.experts.2.0.bias' is missing" },
        { "int8-dtype", "has dtype I8, expected F32" },
        { "layout-mismatch", "the file's layout is dedr, --layout asked for jejr" },
        { "topk-mismatch", "--top-k 3 differs from the file's top_k 2" },
        { "no-layout", "pass --layout" },
        { "shorter-than-pooling", "a.npy: audio features have 3 frames, fewer than the pooling window of 4" },
        { "weights-header-not-utf8", "Dedr.safetensors: safetensors header is not UTF-8 (invalid byte 0xFF at header byte" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void Project_BadInput_OneLineError_Exit2_NoOutput(string kind, string expected)
    {
        using var dir = new TempDir();
        string w = Weights(dir);
        string a = dir.File("a.npy");
        NpyFile.Write(a, SyntheticProjector.Features(8, 32, 1).Data, 8, 32);
        string[] args = ["project", "--weights", w, "--layout", "dedr", "--top-k", "2", "--audio", a, "--out", dir.File("out")];
        void Arg(string name, string value) => args[Array.IndexOf(args, name) + 1] = value;
        switch (kind)
        {
            case "wrong-width":
                NpyFile.Write(a, new float[8 * 7], 8, 7);
                break;
            case "empty":
                NpyFile.Write(a, Array.Empty<float>(), 0, 32);
                break;
            case "not-npy":
                File.WriteAllText(a, "hello");
                break;
            case "3d":
                NpyFile.Write(a, new float[2 * 4 * 32], 2, 4, 32);
                break;
            case "truncated-weights":
                var bytes = File.ReadAllBytes(w);
                File.WriteAllBytes(w, bytes[..100]);
                break;
            case "missing-key":
                TensorSplice.Drop(w, n => n == "audio_proj.experts.2.0.bias");
                break;
            case "int8-dtype":
                TensorSplice.Write(w, [(w, _ => true)], (t, data) => t.Name == "audio_proj.experts.1.3.weight"
                    ? (TensorDType.I8, data[..(int)t.Shape[0]]) : (t.DType, data));
                break;
            case "no-video-mixture":
                SyntheticProjector.Write(w, new SyntheticProjectorSpec { Layout = SmopLayout.Dedr, Experts = 4, AudioDim = 32, VideoDim = 32,
                    HiddenDim = 24, OutputDim = 20, Video = false });
                NpyFile.Write(dir.File("v.npy"), SyntheticProjector.Features(8, 32, 2).Data, 8, 32);
                args = [.. args[..^2], "--video", dir.File("v.npy"), "--out", dir.File("out")];
                break;
            case "topk-over-smaller-mixture":
                // DEDR lets each modality have its own expert count: here audio 4, video 2.
                string small = dir.File("small.safetensors");
                SyntheticProjector.Write(small, new SyntheticProjectorSpec { Layout = SmopLayout.Dedr, Experts = 2, AudioDim = 32, VideoDim = 32,
                    HiddenDim = 24, OutputDim = 20, Seed = 3 });
                TensorSplice.Write(w, [(w, n => n.StartsWith(SmopNames.AudioPrefix, StringComparison.Ordinal)), (small, n =>
                    n.StartsWith(SmopNames.VideoPrefix, StringComparison.Ordinal))]);
                NpyFile.Write(dir.File("v.npy"), SyntheticProjector.Features(8, 32, 2).Data, 8, 32);
                Arg("--top-k", "3");
                args = [.. args[..^2], "--video", dir.File("v.npy"), "--out", dir.File("out")];
                break;
            case "half-mixture":
                TensorSplice.Drop(w, n => n == "audio_proj.gate.weight");
                break;
            case "negative-threads":
                args = [.. args, "--threads", "-3"];
                break;
            case "shorter-than-pooling":
                NpyFile.Write(a, SyntheticProjector.Features(3, 32, 1).Data, 3, 32);
                break;
            case "weights-header-not-utf8":
                // A tensor name with a byte that is not UTF-8, the header length unchanged.
                var st = File.ReadAllBytes(w);
                st[8 + System.Text.Encoding.ASCII.GetString(st, 8, 200).IndexOf("audio_proj", StringComparison.Ordinal)] = 0xFF;
                File.WriteAllBytes(w, st);
                break;
            case "out-under-a-file":
                File.WriteAllText(dir.File("blocker"), "a file where the output folder's parent should be");
                Arg("--out", dir.File("blocker/out"));
                break;
            case "layout-mismatch":
            case "topk-mismatch":
            case "no-layout":
                Int8ProjectorFile.Write(dir.File("w8.safetensors"), SmopWeights.Load(w, SmopLayout.Dedr), RoutingSettings.Create(2, 4, 2));
                Arg("--weights", kind == "no-layout" ? w : dir.File("w8.safetensors"));
                if (kind == "layout-mismatch") Arg("--layout", "jejr");
                if (kind == "topk-mismatch") Arg("--top-k", "3");
                if (kind == "no-layout") args = args.Where((s, i) => s != "--layout" && (i == 0 || args[i - 1] != "--layout")).ToArray();
                break;
        }
        var (code, stdout, stderr) = Invoke(args);
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
        Assert.Single(stderr.TrimEnd().Split('\n'));
        Assert.StartsWith("edgeavsr: ", stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dir.File("out")) && Directory.EnumerateFileSystemEntries(dir.File("out")).Any(), $"output left behind: {stdout}");
    }

    [Fact]
    public void Doctor_ReportsBothEngines_AndKernels()
    {
        var (code, stdout, stderr) = Invoke("doctor");
        Assert.True(code == 0, stderr + stdout);
        Assert.Contains("onnxruntime: version 1.32.0", stdout, StringComparison.Ordinal);
        Assert.Contains("/libonnxruntime.so", stdout, StringComparison.Ordinal);
        Assert.Contains("C API version 31", stdout, StringComparison.Ordinal);
        Assert.Contains("llama.cpp: version b10221 (815a2a591", stdout, StringComparison.Ordinal);
        Assert.Contains("LLamaSharp 0.30.0", stdout, StringComparison.Ordinal);
        Assert.Contains("llama.cpp commit: 815a2a591", stdout, StringComparison.Ordinal);
        Assert.Contains("ggml CPU variant: ", stdout, StringComparison.Ordinal);
        Assert.Contains("/libllama.so", stdout, StringComparison.Ordinal);
        Assert.Contains("/libggml-cpu.so", stdout, StringComparison.Ordinal);
        Assert.Contains("devices: CPU", stdout, StringComparison.Ordinal);
        Assert.Contains("projector int8 kernel: ", stdout, StringComparison.Ordinal);
        Assert.Contains("advsimd-dot", stdout, StringComparison.Ordinal);
        Assert.Matches("projector cuda: .*(no CUDA device|libsmop_cuda.so not found|, sm_[0-9]+, )", stdout);
        // The device report (Device/): which GPIO driver, and the capture tools found on PATH.
        Assert.Contains("device gpio: ", stdout, StringComparison.Ordinal);
        Assert.Contains("device ffmpeg: /", stdout, StringComparison.Ordinal);
    }
}
