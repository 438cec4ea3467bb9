using EdgeAvsr.Quantize.Conversion;
using EdgeAvsr.Quantize.Gguf;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Formats.Gguf;
using EdgeAvsr.Synthetic;

namespace EdgeAvsr.Quantize.Tests;

public sealed class ConversionTests
{
    internal static string Convert(TempDir dir, TinyLlamaSpec spec, LlamaFileType type, string name = "model.gguf")
    {
        string hf = Path.Combine(dir.Path, "hf-" + spec.GetHashCode().ToString("x", System.Globalization.CultureInfo.InvariantCulture));
        if (!Directory.Exists(hf))
        {
            TinyLlamaGenerator.WriteModel(hf, spec);
        }
        string output = dir.File(name);
        LlamaGgufConverter.Convert(new LlamaConversionRequest(hf, output, type) { Threads = 2 });
        return output;
    }

    [Fact]
    public void Generated_model_converts_to_f32_gguf_that_validates_and_loads_in_libllama()
    {
        using var dir = new TempDir();
        var spec = new TinyLlamaSpec { Seed = 3 };
        string gguf = Convert(dir, spec, LlamaFileType.F32);
        var hp = LlamaGgufValidator.Validate(gguf);
        Assert.Equal(256, hp.EmbeddingLength);
        Assert.Equal(2, hp.BlockCount);
        Assert.True(hp.TiedOutput);
        var loaded = LlamaNative.TryLoad(gguf);
        Assert.NotNull(loaded);
        Assert.Equal(256, loaded.Value.Embd);
        Assert.Equal(hp.VocabSize, loaded.Value.Vocab);
    }

    [Fact]
    public void Untied_sharded_bf16_model_with_llama3_rope_converts_to_f16_and_loads()
    {
        using var dir = new TempDir();
        var spec = new TinyLlamaSpec { Seed = 5, TieWordEmbeddings = false, Sharded = true, Bf16 = true, Llama3RopeScaling = true };
        string gguf = Convert(dir, spec, LlamaFileType.F16);
        var hp = LlamaGgufValidator.Validate(gguf);
        Assert.False(hp.TiedOutput);
        using (var f = GgufFile.Open(gguf))
        {
            Assert.Equal(GgmlType.F16, f.FindTensor("output.weight")!.Type);
            Assert.Equal(GgmlType.F32, f.FindTensor("blk.0.attn_norm.weight")!.Type);
            Assert.NotNull(f.FindTensor("rope_freqs.weight"));
        }
        Assert.NotNull(LlamaNative.TryLoad(gguf));
    }

    [Fact]
    public void Converted_tokenizer_tokenizes_in_libllama_with_learned_merges()
    {
        using var dir = new TempDir();
        var spec = new TinyLlamaSpec { Seed = 9 };
        string gguf = Convert(dir, spec, LlamaFileType.F32);
        var (vocab, _) = TinyLlamaGenerator.BuildVocabulary(spec);
        int[] ids = LlamaNative.Tokenize(gguf, " the speech", addSpecial: true);
        Assert.Equal(vocab.Count, ids[0]);
        // " the" and " speech" are frequent corpus words, so merges make them single tokens.
        Assert.Equal(["Ġthe", "Ġspeech"], ids[1..].Select(i => vocab[i]));
    }

    [Fact]
    public void Q_and_K_rows_are_permuted_to_interleaved_pairs()
    {
        var w = Enumerable.Range(0, 8 * 2).Select(i => (float)i).ToArray();
        // 2 heads of head_dim 4, rows of length 2: head rows [r0 r1 r2 r3] -> [r0 r2 r1 r3].
        var p = LlamaTensorPlan.PermuteRows(w, heads: 2, headDim: 4, rowLength: 2);
        int[] rowOrder = [0, 2, 1, 3, 4, 6, 5, 7];
        Assert.Equal(rowOrder.SelectMany(r => new float[] { 2 * r, 2 * r + 1 }), p);
    }

    [Fact]
    public void Validator_refuses_what_llama_cpp_would_abort_on()
    {
        using var dir = new TempDir();
        string good = Convert(dir, new TinyLlamaSpec { Seed = 4 }, LlamaFileType.F32);

        string Mutate(Action<GgufWriter> change)
        {
            using var src = GgufFile.Open(good);
            var w = new GgufWriter();
            foreach (var (k, v) in src.Metadata)
            {
                w.Set(k, v);
            }
            foreach (var t in src.Tensors)
            {
                w.AddTensor(t.Name, t.Type, t.Ne);
            }
            change(w);
            string path = dir.File("bad.gguf");
            w.Write(path, d =>
            {
                foreach (var t in src.Tensors)
                {
                    d.WriteTensor(src.ReadTensor(t));
                }
            });
            var e = Assert.Throws<EdgeAvsrException>(() => LlamaGgufValidator.Validate(path));
            Assert.Contains("bad.gguf", e.Message, StringComparison.Ordinal);
            return e.Message;
        }

        Assert.Contains("llama.block_count is 0", Mutate(w => w.SetUInt32("llama.block_count", 0)), StringComparison.Ordinal);
        Assert.Contains("llama.block_count is 513", Mutate(w => w.SetUInt32("llama.block_count", 513)), StringComparison.Ordinal);
        Assert.Contains("expected uint32", Mutate(w => w.Set("llama.embedding_length", GgufValue.FromInt32(256))), StringComparison.Ordinal);
        Assert.Contains("'llama.context_length' is missing", Mutate(w => w.Remove("llama.context_length")), StringComparison.Ordinal);
        Assert.Contains("architecture is 'gemma'", Mutate(w => w.SetString("general.architecture", "gemma")), StringComparison.Ordinal);
        Assert.Contains("rope.scaling.type", Mutate(w => w.SetString("llama.rope.scaling.type", "weird")), StringComparison.Ordinal);
        Assert.Contains("expert", Mutate(w => w.SetUInt32("llama.expert_used_count", 2)), StringComparison.Ordinal);
        Assert.Contains("bos_token_id", Mutate(w => w.SetUInt32("tokenizer.ggml.bos_token_id", 1_000_000)), StringComparison.Ordinal);
        Assert.Contains("head_count 4 is not a multiple", Mutate(w => w.SetUInt32("llama.attention.head_count_kv", 3)), StringComparison.Ordinal);
    }
}
