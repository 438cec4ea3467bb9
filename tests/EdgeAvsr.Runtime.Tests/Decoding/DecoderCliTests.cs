using EdgeAvsr.Cli;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Runtime.Tests.Decoding;

/// <summary><c>edgeavsr generate</c> and <c>edgeavsr decode</c> end to end on the tiny model, and their input errors.</summary>
[Collection("console")]
public class DecoderCliTests
{
    private static (int Code, string Out, string Err) Invoke(params string[] args) => CliHarness.Edgeavsr(args);

    [Fact]
    public void BadInputs_OneLineError_Exit2()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("not.gguf"), "hello, not a model");
        NpyFile.Write(dir.File("a.npy"), new float[6], 2, 3);
        var (code, _, err) = Invoke("decode", "--model", dir.File("missing.gguf"), "--audio-tokens", dir.File("a.npy"), "--task", "asr");
        Assert.Equal(2, code);
        Assert.Contains("model file not found", err, StringComparison.Ordinal);
        (code, _, err) = Invoke("decode", "--model", dir.File("not.gguf"), "--audio-tokens", dir.File("a.npy"), "--task", "asr");
        Assert.Equal(2, code);
        Assert.Contains("not a GGUF file", err, StringComparison.Ordinal);
        (code, _, err) = Invoke("decode", "--model", dir.File("not.gguf"), "--audio-tokens", dir.File("nope.npy"), "--task", "asr");
        Assert.Equal(2, code);
        Assert.Contains("nope.npy: file not found", err, StringComparison.Ordinal);
        (code, _, err) = Invoke("decode", "--model", dir.File("not.gguf"), "--task", "lipreading");
        Assert.Equal(2, code);
        Assert.Contains("--task 'lipreading' is not asr, vsr or avsr", err, StringComparison.Ordinal);
        NpyFile.Write(dir.File("nan.npy"), [1f, float.NaN], 1, 2);
        (code, _, err) = Invoke("decode", "--model", dir.File("not.gguf"), "--audio-tokens", dir.File("nan.npy"), "--task", "asr");
        Assert.Equal(2, code);
        Assert.Contains("tokens must be finite", err, StringComparison.Ordinal);
        Assert.Single(err.Trim().Split('\n'));
    }
}

[Collection("console")]
public class DecoderCliModelTests
{
    [Fact]
    public void GenerateAndDecode_RunTheModel_WriteLogits_RejectWrongWidth()
    {
        var m = TinyModels.Base;
        using var dir = new TempDir();
        int width;
        int vocab;
        float[] expectedFirst;
        int[] expectedTokens;
        using (var model = DecoderModel.Load(m.F32Gguf, LlamaBackendKind.Cpu))
        {
            width = model.InputWidth;
            vocab = model.VocabularySize;
            var audio = new FloatMatrix(6, width);
            var video = new FloatMatrix(3, width);
            var rng = new Random(2);
            for (int i = 0; i < audio.Data.Length; i++)
            {
                audio.Data[i] = (float)(rng.NextDouble() - 0.5);
            }
            for (int i = 0; i < video.Data.Length; i++)
            {
                video.Data[i] = (float)(rng.NextDouble() - 0.5);
            }
            NpyFile.Write(dir.File("a.npy"), audio.Data, 1, audio.Rows, width);
            NpyFile.Write(dir.File("v.npy"), video.Data, video.Rows, width);
            using var decoder = new LlamaDecoder(model, new DecoderOptions { Threads = 1 });
            var r = decoder.Generate(DecoderPrompt.ForAvsr(model, AvsrTask.Avsr, audio, video), new GenerationOptions { MaxNewTokens = 5, Beams = 3,
                KeepFirstLogits = true });
            expectedFirst = r.FirstLogits!;
            expectedTokens = r.Tokens;
        }
        NpyFile.Write(dir.File("narrow.npy"), new float[2 * (width - 1)], 2, width - 1);

        var (code, stdout, stderr) = Invoke("decode", "--model", m.F32Gguf, "--audio-tokens", dir.File("a.npy"), "--video-tokens", dir.File("v.npy"),
            "--task", "avsr",
            "--beams", "3", "--max-tokens", "5", "--threads", "1", "--logits-out", dir.File("logits.npy"));
        Assert.True(code == 0, stderr);
        Assert.Contains("llama.cpp backend: CPU", stderr, StringComparison.Ordinal);
        var logits = NpyFile.ReadFloat32(dir.File("logits.npy"));
        Assert.Equal(new long[] { vocab }, logits.Shape);
        Assert.Equal(expectedFirst, logits.Data);
        Assert.Contains($"{expectedTokens.Length} tokens", stderr, StringComparison.Ordinal);
        Assert.NotEmpty(stdout);

        (code, _, stderr) = Invoke("decode", "--model", m.F32Gguf, "--audio-tokens", dir.File("narrow.npy"), "--task", "asr");
        Assert.Equal(2, code);
        Assert.Contains($"audio tokens have width {width - 1}", stderr, StringComparison.Ordinal);
        (code, _, stderr) = Invoke("decode", "--model", m.F32Gguf, "--audio-tokens", dir.File("a.npy"), "--task", "avsr");
        Assert.Equal(2, code);
        Assert.Contains("task avsr needs video tokens", stderr, StringComparison.Ordinal);
        (code, _, stderr) = Invoke("generate", "--model", m.F32Gguf, "--prompt", "hi", "--backend", "cuda");
        Assert.Equal(2, code);
        Assert.Contains("CUDA was requested", stderr, StringComparison.Ordinal);

        (code, stdout, stderr) = Invoke("generate", "--model", m.F32Gguf, "--prompt", "the cat", "--max-tokens", "4", "--threads", "1");
        Assert.True(code == 0, stderr);
        Assert.Contains("4 tokens", stderr, StringComparison.Ordinal);
    }

    private static (int Code, string Out, string Err) Invoke(params string[] args) => CliHarness.Edgeavsr(args);
}
