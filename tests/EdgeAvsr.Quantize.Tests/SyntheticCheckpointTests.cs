using EdgeAvsr.Quantize.Conversion;
using EdgeAvsr.Quantize.Pack;
using EdgeAvsr.Quantize.Testing;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Formats.Gguf;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Quantize.Tests;

/// <summary>
/// The tiny synthetic Llama-SMoP checkpoint, made once: tiny encoders exported with their weights saved
/// (Models/encoders/export_encoder.py), then <see cref="SyntheticCheckpoint.Write"/> with the base HF directory.
/// </summary>
public sealed class SyntheticCheckpointFixture : IDisposable
{
    private readonly TempDir _dir = new();

    public SyntheticCheckpointFixture()
    {
        var rng = new Random(17);
        NpyFile.Write(File("mel.npy"), Enumerable.Range(0, 80 * 3000).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray(), 80, 3000);
        NpyFile.Write(File("roi.npy"), Enumerable.Range(0, 5 * 88 * 88).Select(_ => (float)((rng.NextDouble() - 0.421) / 0.165)).ToArray(), 5, 88, 88);
        Export("whisper", "3", File("audio.onnx"), "--save-weights", File("audio.safetensors"), "--check-input", File("mel.npy"), "--check-output", File("audio_ref.npy"));
        Export("avhubert", "4", File("video.onnx"), "--save-weights", File("video.safetensors"), "--check-input", File("roi.npy"), "--check-output", File("video_ref.npy"));
        Spec = SyntheticCheckpointSpec.Tiny() with { AudioEncoderWeights = File("audio.safetensors"), VideoEncoderWeights = File("video.safetensors") };
        SyntheticCheckpoint.Write(Checkpoint, Spec, Hf);
        SyntheticCheckpoint.TrainConfigFor(Spec).Write(TrainConfigPath);
    }

    public SyntheticCheckpointSpec Spec { get; }

    public string Checkpoint => File("ckpt.safetensors");

    public string TrainConfigPath => File("train.json");

    public string Hf => File("hf");

    public string File(string name) => _dir.File(name);

    public static void Export(string arch, string seed, string onnx, params string[] more)
    {
        string[] args = [Path.Combine(Python.RepoRoot, "Models", "encoders", "export_encoder.py"), "export", "--arch", arch, .. (seed.Length > 0 ? new[] { "--size", "tiny", "--seed", seed } : []), "--out", onnx, .. more];
        var (rc, _, err) = Python.Exec(args);
        if (rc != 0)
        {
            throw new InvalidOperationException($"export_encoder.py failed: {err}");
        }
    }

    public void Dispose() => _dir.Dispose();
}

public sealed class SyntheticCheckpointTests(SyntheticCheckpointFixture f) : IClassFixture<SyntheticCheckpointFixture>
{
    [Fact]
    public void Checkpoint_HasTheAuthorsKeyLayout()
    {
        using var ckpt = SafetensorsFile.Open(f.Checkpoint);
        var spec = f.Spec;
        var (vocab, _) = TinyLlamaGenerator.BuildVocabulary(spec.Llama);
        int rows = vocab.Count + TinyLlamaGenerator.SpecialTokens.Length + 5;
        Assert.Equal([rows, spec.Llama.HiddenSize], ckpt.Get("llm.model.embed_tokens.weight").Shape);
        int rank = spec.Llama.HiddenSize / spec.Rank;
        for (int i = 0; i < spec.Llama.Layers; i++)
        {
            Assert.Equal([rank, spec.Llama.HiddenSize], ckpt.Get($"llm.model.layers.{i}.self_attn.lora_down_Q.weight").Shape);
            Assert.Equal([spec.Llama.KvWidth, rank], ckpt.Get($"llm.model.layers.{i}.self_attn.lora_up_V.weight").Shape);
        }
        Assert.Equal([spec.Experts, spec.AudioDim], ckpt.Get("audio_proj.gate.weight").Shape);
        Assert.Equal([spec.IntermediateSize, spec.VideoDim], ckpt.Get($"video_proj.experts.{spec.Experts - 1}.0.weight").Shape);
        Assert.Equal([spec.Llama.HiddenSize], ckpt.Get("video_proj.experts.0.3.weight").Shape);
        // No stray keys: every key belongs to one of the four parts.
        Assert.All(ckpt.Tensors.Keys, k => Assert.True(
            k.StartsWith("llm.", StringComparison.Ordinal) || k.StartsWith("audio_proj.", StringComparison.Ordinal) || k.StartsWith("video_proj.", StringComparison.Ordinal)
            || k.StartsWith("audio_encoder.", StringComparison.Ordinal) || k.StartsWith("video_encoder.", StringComparison.Ordinal), k));
        // The encoder tensors are the exporter's, byte for byte.
        foreach (string enc in new[] { "audio", "video" })
        {
            using var src = SafetensorsFile.Open(f.File(enc + ".safetensors"));
            Assert.Equal(src.Tensors.Count, ckpt.Tensors.Keys.Count(k => k.StartsWith(enc + "_encoder.", StringComparison.Ordinal)));
            foreach (var t in src.Tensors.Values)
            {
                Assert.Equal(src.ReadRaw(t), ckpt.ReadRaw(ckpt.Get(t.Name)));
            }
        }
    }

    [Fact]
    public void Projector_LoadsFromTheCheckpoint_AsTheRuntimeReadsIt()
    {
        var w = SmopWeights.Load(f.Checkpoint, SmopLayout.Dedr);
        Assert.Equal(4, w.Audio!.ExpertCount);
        Assert.Equal(64, w.Video!.InputDim);
        Assert.Equal(f.Spec.Llama.HiddenSize, w.Audio.OutputDim);
    }

    [Theory]
    [InlineData("whisper", "mel.npy", "audio_ref.npy")]
    [InlineData("avhubert", "roi.npy", "video_ref.npy")]
    public void Encoders_ExportFromTheCheckpoint_ToTheSameOutputs(string arch, string input, string reference)
    {
        string output = f.File(arch + "_from_ckpt.npy");
        SyntheticCheckpointFixture.Export(arch, "", f.File(arch + "_from_ckpt.onnx"), "--checkpoint", f.Checkpoint, "--check-input", f.File(input), "--check-output", output);
        Assert.Equal(NpyFile.ReadFloat32(f.File(reference)).Data, NpyFile.ReadFloat32(output).Data);
    }

    [Fact]
    public void Llm_ConvertsWithTheTrainConfig_AddedTokensAndLoraMerged()
    {
        using var dir = new TempDir();
        string gguf = dir.File("d.gguf");
        LlamaGgufConverter.Convert(new LlamaConversionRequest(f.Hf, gguf, LlamaFileType.F32) { CheckpointPath = f.Checkpoint, TrainConfigPath = f.TrainConfigPath, Threads = 1 });
        using var file = GgufFile.Open(gguf);
        Assert.NotNull(file.Find("edgeavsr.video_end_token_id"));
        Assert.Equal(f.Spec.Llama.HiddenSize, (int)(uint)file.Find("llama.embedding_length")!.Value);
    }

    [Fact]
    public void TrainConfig_RoundTrips_AndAMissingArgumentIsNamed()
    {
        var read = TrainConfig.Read(f.TrainConfigPath);
        Assert.Equal(SyntheticCheckpoint.TrainConfigFor(f.Spec), read);
        Assert.Equal(LoraMerge.ReadTrainConfig(f.TrainConfigPath), (f.Spec.Rank, f.Spec.Alpha));
        using var dir = new TempDir();
        string broken = dir.File("t.json");
        File.WriteAllText(broken, File.ReadAllText(f.TrainConfigPath).Replace("\"MoP-topk\": 2,", "", StringComparison.Ordinal));
        var e = Assert.Throws<EdgeAvsrException>(() => TrainConfig.Read(broken));
        Assert.Contains("training argument 'MoP-topk' is missing", e.Message, StringComparison.Ordinal);
    }
}
