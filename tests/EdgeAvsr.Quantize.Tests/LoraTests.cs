using System.Runtime.InteropServices;
using EdgeAvsr.Quantize.Conversion;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Formats.Gguf;
using EdgeAvsr.Synthetic;

namespace EdgeAvsr.Quantize.Tests;

/// <summary>LoRA merges checked against an independent fp64 computation W + scale * up @ down, then the Q/K row order.</summary>
public sealed class LoraTests
{
    private static readonly TinyLlamaSpec Spec = new() { Seed = 31, Layers = 2 };

    private static float[] GgufF32(string path, string name)
    {
        using var f = GgufFile.Open(path);
        var t = f.FindTensor(name)!;
        Assert.Equal(GgmlType.F32, t.Type);
        return MemoryMarshal.Cast<byte, float>(f.ReadTensor(t)).ToArray();
    }

    private static float[] Read(string path, string name)
    {
        using var f = SafetensorsFile.Open(path);
        return f.ReadFloat32(name);
    }

    /// <summary>Expected GGUF rows in fp64: (W + scale * up @ down), rows reordered per head to interleaved pairs when <paramref name="heads"/> > 0.</summary>
    private static double[] Expected(float[] w, float[] up, float[] down, double scale, int outDim, int inDim, int heads)
    {
        int r = down.Length / inDim;
        var merged = new double[outDim * inDim];
        for (int o = 0; o < outDim; o++)
        {
            for (int i = 0; i < inDim; i++)
            {
                double s = 0;
                for (int k = 0; k < r; k++)
                {
                    s += (double)up[o * r + k] * down[k * inDim + i];
                }
                merged[o * inDim + i] = w[o * inDim + i] + scale * s;
            }
        }
        if (heads == 0)
        {
            return merged;
        }
        int hd = outDim / heads;
        var result = new double[merged.Length];
        for (int g = 0; g < outDim; g++)
        {
            // GGUF row g = h*hd + 2j + k holds HF row h*hd + k*hd/2 + j.
            int h = g / hd, within = g % hd, j = within / 2, k = within % 2;
            int src = h * hd + k * (hd / 2) + j;
            Array.Copy(merged, src * inDim, result, g * inDim, inDim);
        }
        return result;
    }

    private static void AssertClose(double[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double maxAbs = expected.Max(Math.Abs);
        double maxErr = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            maxErr = Math.Max(maxErr, Math.Abs(expected[i] - actual[i]));
        }
        Assert.True(maxErr <= 2e-6 * maxAbs, $"{what}: max error {maxErr:E3} vs max |w| {maxAbs:E3}");
    }

    [Fact]
    public void Peft_adapter_merges_into_q_and_v_before_the_permutation()
    {
        using var dir = new TempDir();
        string hf = dir.File("hf");
        TinyLlamaGenerator.WriteModel(hf, Spec);
        var lora = TinyLlamaGenerator.WriteLora(dir.File("lora"), Spec, peftRank: 8, peftAlpha: 16);
        string output = dir.File("merged.gguf");
        LlamaGgufConverter.Convert(new LlamaConversionRequest(hf, output, LlamaFileType.F32) { LoraDirectory = lora.PeftDirectory, Threads = 2 });
        string model = Path.Combine(hf, "model.safetensors");
        string adapter = Path.Combine(lora.PeftDirectory, "adapter_model.safetensors");
        int h = Spec.HiddenSize, kv = Spec.KvWidth;
        for (int layer = 0; layer < Spec.Layers; layer++)
        {
            string p = $"base_model.model.model.layers.{layer}.self_attn.";
            AssertClose(
                Expected(Read(model, $"model.layers.{layer}.self_attn.q_proj.weight"), Read(adapter, p + "q_proj.lora_B.weight"),
                    Read(adapter, p + "q_proj.lora_A.weight"), 16.0 / 8, h, h, Spec.Heads),
                GgufF32(output, $"blk.{layer}.attn_q.weight"), $"layer {layer} q");
            AssertClose(
                Expected(Read(model, $"model.layers.{layer}.self_attn.v_proj.weight"), Read(adapter, p + "v_proj.lora_B.weight"),
                    Read(adapter, p + "v_proj.lora_A.weight"), 16.0 / 8, kv, h, 0),
                GgufF32(output, $"blk.{layer}.attn_v.weight"), $"layer {layer} v");
            // K has no adapter: only permuted.
            var k = Read(model, $"model.layers.{layer}.self_attn.k_proj.weight");
            AssertClose(Expected(k, new float[kv], new float[h], 0, kv, h, Spec.KvHeads), GgufF32(output, $"blk.{layer}.attn_k.weight"), $"layer {layer} k");
        }
        Assert.NotNull(LlamaNative.TryLoad(output));
    }

    [Fact]
    public void Avsr_checkpoint_merges_its_lora_and_appends_the_special_tokens()
    {
        using var dir = new TempDir();
        string hf = dir.File("hf");
        int baseVocab = TinyLlamaGenerator.WriteModel(hf, Spec);
        string ckpt = dir.File("ckpt.safetensors");
        string train = dir.File("train.json");
        TinyLlamaGenerator.WriteAvsrCheckpoint(ckpt, Spec, reduction: 32, alpha: 4, trainConfig: train);
        string output = dir.File("avsr.gguf");
        var result = LlamaGgufConverter.Convert(new LlamaConversionRequest(hf, output, LlamaFileType.F32) { CheckpointPath = ckpt,
            TrainConfigPath = train, Threads = 2 });
        Assert.Equal(baseVocab, result.AddedTokenIds["<pad>"]);
        Assert.Equal(baseVocab + 4, result.AddedTokenIds["</video>"]);
        int h = Spec.HiddenSize, kv = Spec.KvWidth;
        for (int layer = 0; layer < Spec.Layers; layer++)
        {
            string p = $"llm.model.layers.{layer}.self_attn.";
            AssertClose(
                Expected(Read(ckpt, p + "q_proj.weight"), Read(ckpt, p + "lora_up_Q.weight"), Read(ckpt, p + "lora_down_Q.weight"), 4.0 / 32, h, h, Spec.Heads),
                GgufF32(output, $"blk.{layer}.attn_q.weight"), $"layer {layer} q");
            AssertClose(
                Expected(Read(ckpt, p + "v_proj.weight"), Read(ckpt, p + "lora_up_V.weight"), Read(ckpt, p + "lora_down_V.weight"), 4.0 / 32, kv, h, 0),
                GgufF32(output, $"blk.{layer}.attn_v.weight"), $"layer {layer} v");
        }
        Assert.Equal(Read(ckpt, "llm.model.embed_tokens.weight"), GgufF32(output, "token_embd.weight"));
        using (var f = GgufFile.Open(output))
        {
            var tokens = f.Find("tokenizer.ggml.tokens")!.AsArray<string>();
            Assert.Equal(["<pad>", "<audio>", "</audio>", "<video>", "</video>"], tokens[^5..]);
            Assert.Equal(baseVocab + 5, tokens.Length);
            Assert.Equal((uint)(baseVocab + 1), f.Find("edgeavsr.audio_start_token_id")!.Value);
            Assert.Equal((uint)(baseVocab + 4), f.Find("edgeavsr.video_end_token_id")!.Value);
            Assert.Equal(3, f.Find("tokenizer.ggml.token_type")!.AsArray<int>()[^1]);
        }
        var loaded = LlamaNative.TryLoad(output);
        Assert.NotNull(loaded);
        Assert.Equal(baseVocab + 5, loaded.Value.Vocab);
        Assert.Equal(baseVocab + 1, LlamaNative.Tokenize(output, "<audio>", addSpecial: false, parseSpecial: true).Single());
    }

    [Fact]
    public void Missing_or_wrong_lora_hyperparameters_are_errors_never_defaults()
    {
        using var dir = new TempDir();
        string hf = dir.File("hf");
        TinyLlamaGenerator.WriteModel(hf, Spec);
        string ckpt = dir.File("ckpt.safetensors");
        TinyLlamaGenerator.WriteAvsrCheckpoint(ckpt, Spec, reduction: 32, alpha: 4);
        string output = dir.File("x.gguf");

        string Fail(string? trainJson)
        {
            string? train = null;
            if (trainJson is not null)
            {
                train = dir.File("train.json");
                File.WriteAllText(train, trainJson);
            }
            var e = Assert.Throws<EdgeAvsrException>(() =>
                LlamaGgufConverter.Convert(new LlamaConversionRequest(hf, output, LlamaFileType.F32) { CheckpointPath = ckpt, TrainConfigPath = train }));
            Assert.False(File.Exists(output));
            return e.Message;
        }

        Assert.Contains("--train-config is required", Fail(null), StringComparison.Ordinal);
        Assert.Contains("'alpha'", Fail("""{"reduction_lora": 32}"""), StringComparison.Ordinal);
        Assert.Contains("reduction factor is missing", Fail("""{"alpha": 4}"""), StringComparison.Ordinal);
        Assert.Contains("does not fit", Fail("""{"rank": 16, "alpha": 4}"""), StringComparison.Ordinal);
        // "rank" is the 1B recipes' name for the same reduction factor.
        File.WriteAllText(dir.File("ok.json"), """{"rank": 32, "alpha": 4}""");
        LlamaGgufConverter.Convert(new LlamaConversionRequest(hf, output, LlamaFileType.F32) { CheckpointPath = ckpt, TrainConfigPath = dir.File("ok.json") });
        Assert.True(File.Exists(output));
    }

    [Fact]
    public void Peft_adapter_with_wrong_shapes_is_refused()
    {
        using var dir = new TempDir();
        string hf = dir.File("hf");
        TinyLlamaGenerator.WriteModel(hf, Spec);
        var lora = TinyLlamaGenerator.WriteLora(dir.File("lora"), Spec with { HiddenSize = 512, IntermediateSize = 1024 });
        var e = Assert.Throws<EdgeAvsrException>(() =>
            LlamaGgufConverter.Convert(new LlamaConversionRequest(hf, dir.File("x.gguf"), LlamaFileType.F32) { LoraDirectory = lora.PeftDirectory }));
        Assert.Contains("does not fit", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("x.gguf")));
    }
}
