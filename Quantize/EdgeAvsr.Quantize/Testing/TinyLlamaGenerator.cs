using System.Text;
using System.Text.Json;
using EdgeAvsr.Quantize.Hf;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Quantize.Testing;

/// <summary>Shape and seed of a generated test model.</summary>
public sealed record TinyLlamaSpec
{
    public int Seed { get; init; } = 1234;
    public int HiddenSize { get; init; } = 256;
    public int Layers { get; init; } = 2;
    public int Heads { get; init; } = 4;
    public int KvHeads { get; init; } = 2;
    public int IntermediateSize { get; init; } = 512;
    public int MaxPositionEmbeddings { get; init; } = 2048;
    public double RopeTheta { get; init; } = 500000.0;
    public double RmsNormEps { get; init; } = 1e-5;
    public bool TieWordEmbeddings { get; init; } = true;

    /// <summary>Adds Llama-3's rope_scaling {"rope_type": "llama3", ...} to config.json.</summary>
    public bool Llama3RopeScaling { get; init; }

    /// <summary>Merges learned from the seeded corpus (the vocabulary is 256 bytes + merges + specials).</summary>
    public int Merges { get; init; } = 300;

    /// <summary>Standard deviation of the weights relative to 1/sqrt(row length).</summary>
    public double WeightScale { get; init; } = 1.0;

    /// <summary>Store weights as BF16 (like real checkpoints) instead of F32.</summary>
    public bool Bf16 { get; init; }

    /// <summary>Split the weights over two shards with model.safetensors.index.json.</summary>
    public bool Sharded { get; init; }

    /// <summary>config.json vocab_size; when larger than the learned tokenizer, the rest are unused [PAD] rows (as in padded real vocabularies).</summary>
    public int? VocabSize { get; init; }

    /// <summary>
    /// Regular (non-special) tokens of the tokenizer: after the 256 bytes and the merges learned from the corpus,
    /// seeded synthetic merges of letter tokens fill the vocabulary up to this many (Llama 3: 128000). Null: learned only.
    /// </summary>
    public int? RegularTokens { get; init; }

    /// <summary>Special tokens after the regular ones: the six Llama-3 names, then <c>&lt;|reserved_special_token_N|&gt;</c> (Llama 3: 256).</summary>
    public int SpecialTokenCount { get; init; } = 6;

    public int HeadDim => HiddenSize / Heads;

    public int KvWidth => KvHeads * HeadDim;
}

/// <summary>LoRA written by <see cref="TinyLlamaGenerator.WriteLora"/>: the AVSR-format hyperparameters and where the files are.</summary>
public sealed record TinyLora(string PeftDirectory, string AvsrCheckpoint, string TrainConfig, int Reduction, double Alpha, int PeftRank, double PeftAlpha)
{
    /// <summary>AVSR inner dimension round(hidden / reduction).</summary>
    public int AvsrRank { get; init; }
}

/// <summary>
/// Writes a tiny Hugging Face Llama directory in the real layout, from a seed: config.json,
/// model.safetensors (or shards), a real byte-level BPE tokenizer.json learned from a small seeded corpus
/// (256 byte tokens + merges + Llama-3 special tokens), tokenizer_config.json; and LoRA adapters in the
/// PEFT and Llama-AVSR formats. Tests use it instead of downloading a model.
/// </summary>
public static class TinyLlamaGenerator
{
    /// <summary>The special tokens, in id order after the learned vocabulary (Llama-3 names).</summary>
    public static readonly string[] SpecialTokens =
        ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"];

    /// <summary>Longest synthetic filler token, in byte-level characters.</summary>
    private const int MaxFillerLength = 12;

    /// <summary>The special tokens of <paramref name="spec"/>: <see cref="SpecialTokens"/>, then reserved ones up to <see cref="TinyLlamaSpec.SpecialTokenCount"/>.</summary>
    public static IReadOnlyList<string> SpecialTokensFor(TinyLlamaSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.SpecialTokenCount < SpecialTokens.Length)
        {
            throw new ArgumentException($"SpecialTokenCount {spec.SpecialTokenCount} is below the {SpecialTokens.Length} named special tokens", nameof(spec));
        }
        var list = new List<string>(SpecialTokens);
        for (int i = 1; list.Count < spec.SpecialTokenCount; i++)
        {
            list.Add($"<|reserved_special_token_{i}|>");
        }
        return list;
    }

    /// <summary>config.json's vocab_size for <paramref name="spec"/>: regular + special tokens, or <see cref="TinyLlamaSpec.VocabSize"/> when larger.</summary>
    public static int VocabSizeOf(TinyLlamaSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return Math.Max(BuildVocabulary(spec).Vocab.Count + spec.SpecialTokenCount, spec.VocabSize ?? 0);
    }

    private const string ChatTemplate = "{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";

    private static readonly string[] s_words =
    [
        "the", "speech", "video", "audio", "model", "transcribe", "text", "to", "and", "lips", "of", "a", "in", "is", "recognition",
        "hello", "world", "we", "listen", "watch", "speaker", "said", "that", "this", "with", "noise", "clean", "edge", "device", "runs",
        "tokens", "language", "small", "large", "three", "four", "twenty", "one", "it", "was", "there", "here", "what", "when", "where",
    ];

    /// <summary>A seeded pseudo-English corpus the tokenizer's merges are learned from.</summary>
    public static string Corpus(int seed)
    {
        var rng = new Random(seed);
        var sb = new StringBuilder();
        for (int s = 0; s < 400; s++)
        {
            int n = 3 + rng.Next(10);
            for (int i = 0; i < n; i++)
            {
                string w = s_words[rng.Next(s_words.Length)];
                sb.Append(i == 0 ? char.ToUpperInvariant(w[0]) + w[1..] : " " + w);
                if (rng.Next(12) == 0)
                {
                    sb.Append(' ').Append(rng.Next(1000));
                }
            }
            sb.Append(rng.Next(5) == 0 ? "?\n" : ". ");
        }
        return sb.ToString();
    }

    /// <summary>Writes the model directory; returns its vocabulary size.</summary>
    public static int WriteModel(string directory, TinyLlamaSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Directory.CreateDirectory(directory);
        int vocabSize = WriteTokenizerFiles(directory, spec);
        WriteWeights(directory, spec, vocabSize);
        return vocabSize;
    }

    /// <summary>Writes tokenizer.json, tokenizer_config.json and config.json (no weights); returns the vocabulary size.</summary>
    public static int WriteTokenizerFiles(string directory, TinyLlamaSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Directory.CreateDirectory(directory);
        var (vocab, merges) = BuildVocabulary(spec);
        var specials = SpecialTokensFor(spec);
        int vocabSize = Math.Max(vocab.Count + specials.Count, spec.VocabSize ?? 0);
        WriteTokenizer(directory, vocab, merges, specials);
        WriteConfig(directory, spec, vocabSize, bos: vocab.Count);
        return vocabSize;
    }

    public static (List<string> Vocab, List<string> Merges) BuildVocabulary(TinyLlamaSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var vocab = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int b = 0; b < 256; b++)
        {
            string t = ByteLevelBpe.ByteToChar((byte)b).ToString();
            vocab.Add(t);
            seen.Add(t);
        }
        var merges = new List<string>();
        foreach (var (l, r) in ByteLevelBpe.Train(Corpus(spec.Seed), spec.Merges))
        {
            merges.Add(l + " " + r);
            if (seen.Add(l + r))
            {
                vocab.Add(l + r);
            }
        }
        if (spec.RegularTokens is int target)
        {
            if (target < vocab.Count)
            {
                throw new ArgumentException($"RegularTokens {target} is below the {vocab.Count} byte and learned tokens", nameof(spec));
            }
            FillWithSyntheticMerges(vocab, seen, merges, target, spec.Seed);
        }
        return (vocab, merges);
    }

    /// <summary>
    /// Grows a byte-level BPE vocabulary to <paramref name="target"/> tokens with seeded merges: each joins an
    /// existing letter token (optionally space-led, 'Ġ') and a short letter token without a space, so every merge's
    /// parts exist before it, every merge makes a new token, and merge order is rank order, as a trained BPE's.
    /// </summary>
    private static void FillWithSyntheticMerges(List<string> vocab, HashSet<string> seen, List<string> merges, int target, int seed)
    {
        char space = ByteLevelBpe.ByteToChar((byte)' ');
        static bool Letters(string t, int from)
        {
            if (t.Length <= from)
            {
                return false;
            }
            for (int i = from; i < t.Length; i++)
            {
                if (t[i] is not ((>= 'a' and <= 'z') or (>= 'A' and <= 'Z')))
                {
                    return false;
                }
            }
            return true;
        }
        var lefts = vocab.Where(t => Letters(t, 0) || t[0] == space && Letters(t, 1)).ToList();
        var rights = vocab.Where(t => Letters(t, 0) && t.Length <= 3).ToList();
        var rng = new Random(unchecked(seed * 31 + 101));
        while (vocab.Count < target)
        {
            string left = lefts[rng.Next(lefts.Count)];
            string right = rights[rng.Next(rights.Count)];
            string token = left + right;
            if (token.Length > MaxFillerLength || !seen.Add(token))
            {
                continue;
            }
            merges.Add(left + " " + right);
            vocab.Add(token);
            lefts.Add(token);
            if (token.Length <= 3 && token[0] != space)
            {
                rights.Add(token);
            }
        }
    }

    private static void WriteTokenizer(string directory, List<string> vocab, List<string> merges, IReadOnlyList<string> specials)
    {
        int bos = vocab.Count, eos = vocab.Count + 1;
        WriteJson(Path.Combine(directory, "tokenizer.json"), w =>
        {
            w.WriteStartObject();
            w.WriteString("version", "1.0");
            w.WriteNull("truncation");
            w.WriteNull("padding");
            w.WriteStartArray("added_tokens");
            for (int i = 0; i < specials.Count; i++)
            {
                w.WriteStartObject();
                w.WriteNumber("id", vocab.Count + i);
                w.WriteString("content", specials[i]);
                w.WriteBoolean("single_word", false);
                w.WriteBoolean("lstrip", false);
                w.WriteBoolean("rstrip", false);
                w.WriteBoolean("normalized", false);
                w.WriteBoolean("special", true);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNull("normalizer");
            w.WriteStartObject("pre_tokenizer");
            w.WriteString("type", "Sequence");
            w.WriteStartArray("pretokenizers");
            w.WriteStartObject();
            w.WriteString("type", "Split");
            w.WriteStartObject("pattern");
            w.WriteString("Regex", HfTokenizer.Llama3Pattern);
            w.WriteEndObject();
            w.WriteString("behavior", "Isolated");
            w.WriteBoolean("invert", false);
            w.WriteEndObject();
            w.WriteStartObject();
            w.WriteString("type", "ByteLevel");
            w.WriteBoolean("add_prefix_space", false);
            w.WriteBoolean("trim_offsets", true);
            w.WriteBoolean("use_regex", false);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteStartObject("post_processor");
            w.WriteString("type", "TemplateProcessing");
            w.WriteStartArray("single");
            w.WriteStartObject();
            w.WriteStartObject("SpecialToken");
            w.WriteString("id", specials[0]);
            w.WriteNumber("type_id", 0);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteStartObject();
            w.WriteStartObject("Sequence");
            w.WriteString("id", "A");
            w.WriteNumber("type_id", 0);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteStartObject("special_tokens");
            w.WriteStartObject(specials[0]);
            w.WriteString("id", specials[0]);
            w.WriteStartArray("ids");
            w.WriteNumberValue(bos);
            w.WriteEndArray();
            w.WriteStartArray("tokens");
            w.WriteStringValue(specials[0]);
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteStartObject("decoder");
            w.WriteString("type", "ByteLevel");
            w.WriteBoolean("add_prefix_space", true);
            w.WriteBoolean("trim_offsets", true);
            w.WriteBoolean("use_regex", true);
            w.WriteEndObject();
            w.WriteStartObject("model");
            w.WriteString("type", "BPE");
            w.WriteNull("dropout");
            w.WriteNull("unk_token");
            w.WriteNull("continuing_subword_prefix");
            w.WriteNull("end_of_word_suffix");
            w.WriteBoolean("fuse_unk", false);
            w.WriteBoolean("byte_fallback", false);
            w.WriteBoolean("ignore_merges", true);
            w.WriteStartObject("vocab");
            for (int i = 0; i < vocab.Count; i++)
            {
                w.WriteNumber(vocab[i], i);
            }
            w.WriteEndObject();
            w.WriteStartArray("merges");
            foreach (string m in merges)
            {
                w.WriteStringValue(m);
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        });
        WriteJson(Path.Combine(directory, "tokenizer_config.json"), w =>
        {
            w.WriteStartObject();
            w.WriteStartObject("added_tokens_decoder");
            for (int i = 0; i < specials.Count; i++)
            {
                w.WriteStartObject((vocab.Count + i).ToString(System.Globalization.CultureInfo.InvariantCulture));
                w.WriteString("content", specials[i]);
                w.WriteBoolean("lstrip", false);
                w.WriteBoolean("normalized", false);
                w.WriteBoolean("rstrip", false);
                w.WriteBoolean("single_word", false);
                w.WriteBoolean("special", true);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteString("bos_token", specials[0]);
            w.WriteString("eos_token", specials[1]);
            w.WriteString("chat_template", ChatTemplate);
            w.WriteBoolean("clean_up_tokenization_spaces", true);
            w.WriteNumber("model_max_length", 131072);
            w.WriteString("tokenizer_class", "PreTrainedTokenizerFast");
            w.WriteEndObject();
        });
        _ = eos;
    }

    private static void WriteConfig(string directory, TinyLlamaSpec s, int vocabSize, int bos)
    {
        WriteJson(Path.Combine(directory, "config.json"), w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("architectures");
            w.WriteStringValue("LlamaForCausalLM");
            w.WriteEndArray();
            w.WriteBoolean("attention_bias", false);
            w.WriteNumber("attention_dropout", 0.0);
            w.WriteNumber("bos_token_id", bos);
            w.WriteNumber("eos_token_id", bos + 1);
            w.WriteNumber("head_dim", s.HeadDim);
            w.WriteString("hidden_act", "silu");
            w.WriteNumber("hidden_size", s.HiddenSize);
            w.WriteNumber("initializer_range", 0.02);
            w.WriteNumber("intermediate_size", s.IntermediateSize);
            w.WriteNumber("max_position_embeddings", s.MaxPositionEmbeddings);
            w.WriteBoolean("mlp_bias", false);
            w.WriteString("model_type", "llama");
            w.WriteNumber("num_attention_heads", s.Heads);
            w.WriteNumber("num_hidden_layers", s.Layers);
            w.WriteNumber("num_key_value_heads", s.KvHeads);
            w.WriteNumber("pretraining_tp", 1);
            w.WriteNumber("rms_norm_eps", s.RmsNormEps);
            if (s.Llama3RopeScaling)
            {
                w.WriteStartObject("rope_scaling");
                w.WriteNumber("factor", 32.0);
                w.WriteNumber("high_freq_factor", 4.0);
                w.WriteNumber("low_freq_factor", 1.0);
                w.WriteNumber("original_max_position_embeddings", 8192);
                w.WriteString("rope_type", "llama3");
                w.WriteEndObject();
            }
            else
            {
                w.WriteNull("rope_scaling");
            }
            w.WriteNumber("rope_theta", s.RopeTheta);
            w.WriteBoolean("tie_word_embeddings", s.TieWordEmbeddings);
            w.WriteString("torch_dtype", s.Bf16 ? "bfloat16" : "float32");
            w.WriteString("transformers_version", "4.43.0");
            w.WriteBoolean("use_cache", true);
            w.WriteNumber("vocab_size", vocabSize);
            w.WriteEndObject();
        });
    }

    /// <summary>The HF tensor names and shapes of the model, in the order they are written.</summary>
    public static IReadOnlyList<(string Name, long[] Shape)> TensorShapes(TinyLlamaSpec s, int vocabSize)
    {
        ArgumentNullException.ThrowIfNull(s);
        var list = new List<(string, long[])> { ("model.embed_tokens.weight", [vocabSize, s.HiddenSize]) };
        for (int i = 0; i < s.Layers; i++)
        {
            string p = $"model.layers.{i}.";
            list.Add((p + "input_layernorm.weight", [s.HiddenSize]));
            list.Add((p + "self_attn.q_proj.weight", [s.HiddenSize, s.HiddenSize]));
            list.Add((p + "self_attn.k_proj.weight", [s.KvWidth, s.HiddenSize]));
            list.Add((p + "self_attn.v_proj.weight", [s.KvWidth, s.HiddenSize]));
            list.Add((p + "self_attn.o_proj.weight", [s.HiddenSize, s.HiddenSize]));
            list.Add((p + "post_attention_layernorm.weight", [s.HiddenSize]));
            list.Add((p + "mlp.gate_proj.weight", [s.IntermediateSize, s.HiddenSize]));
            list.Add((p + "mlp.up_proj.weight", [s.IntermediateSize, s.HiddenSize]));
            list.Add((p + "mlp.down_proj.weight", [s.HiddenSize, s.IntermediateSize]));
        }
        list.Add(("model.norm.weight", [s.HiddenSize]));
        if (!s.TieWordEmbeddings)
        {
            list.Add(("lm_head.weight", [vocabSize, s.HiddenSize]));
        }
        return list;
    }

    /// <summary>A Llama-3.2-1B-shaped spec (2048 hidden, 16 layers, 32/8 heads, 8192 FFN, 128256 vocab, tied, llama3 rope) for benchmarks.</summary>
    public static TinyLlamaSpec Llama32OneB(int seed) => new()
    {
        Seed = seed, HiddenSize = 2048, Layers = 16, Heads = 32, KvHeads = 8, IntermediateSize = 8192, VocabSize = 128256,
        MaxPositionEmbeddings = 131072, Llama3RopeScaling = true, TieWordEmbeddings = true, Bf16 = true,
        RegularTokens = 128000, SpecialTokenCount = 256,
    };

    /// <summary>
    /// A SmolLM-135M-shaped spec (576 hidden, 1536 FFN, 9/3 heads of 64, tied embeddings, rope theta 10000) with
    /// <paramref name="layers"/> layers and the small learned vocabulary: rows of 576 are not whole 256-blocks, so
    /// the K-quant types fall back to 32-blocks on every tensor but ffn_down.
    /// </summary>
    public static TinyLlamaSpec SmolLmShaped(int seed, int layers) => new()
    {
        Seed = seed, HiddenSize = 576, Layers = layers, Heads = 9, KvHeads = 3, IntermediateSize = 1536, RopeTheta = 10000.0,
        TieWordEmbeddings = true,
    };

    /// <summary>Seeded values of one tensor: norms near 1, matrices ~ N(0, scale/sqrt(row length)).</summary>
    public static float[] TensorValues(int seed, string name, long[] shape, double scale)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var rng = new Random(unchecked((seed * 1000003) ^ StableHash(name)) & int.MaxValue);
        long n = shape.Aggregate(1L, (a, b) => a * b);
        var v = new float[n];
        if (shape.Length == 1)
        {
            for (long i = 0; i < n; i++)
            {
                v[i] = (float)(1.0 + 0.1 * Gaussian(rng));
            }
            return v;
        }
        double std = scale / Math.Sqrt(shape[^1]);
        for (long i = 0; i < n; i++)
        {
            v[i] = (float)(std * Gaussian(rng));
        }
        return v;
    }

    private static void WriteWeights(string directory, TinyLlamaSpec s, int vocabSize)
    {
        var shapes = TensorShapes(s, vocabSize);
        var shards = s.Sharded ? new[] { shapes.Take(shapes.Count / 2).ToList(), shapes.Skip(shapes.Count / 2).ToList() } : [shapes.ToList()];
        var weightMap = new List<(string Tensor, string File)>();
        for (int k = 0; k < shards.Length; k++)
        {
            string file = s.Sharded ? $"model-{k + 1:D5}-of-{shards.Length:D5}.safetensors" : "model.safetensors";
            var writer = new SafetensorsStreamWriter();
            writer.SetMetadata("format", "pt");
            foreach (var (name, shape) in shards[k])
            {
                writer.AddFloat(name, s.Bf16 ? TensorDType.BF16 : TensorDType.F32, shape, () => TensorValues(s.Seed, name, shape, s.WeightScale));
                weightMap.Add((name, file));
            }
            writer.Write(Path.Combine(directory, file));
        }
        if (s.Sharded)
        {
            WriteJson(Path.Combine(directory, "model.safetensors.index.json"), w =>
            {
                w.WriteStartObject();
                w.WriteStartObject("metadata");
                w.WriteNumber("total_size", 0);
                w.WriteEndObject();
                w.WriteStartObject("weight_map");
                foreach (var (t, f) in weightMap)
                {
                    w.WriteString(t, f);
                }
                w.WriteEndObject();
                w.WriteEndObject();
            });
        }
    }

    /// <summary>
    /// Writes a seeded LoRA on q_proj and v_proj in both formats under <paramref name="directory"/>:
    /// peft/ (adapter_model.safetensors + adapter_config.json, rank <paramref name="peftRank"/>) and
    /// avsr_lora.safetensors (llm.model.layers.{i}.self_attn.lora_{down,up}_{Q,V}.weight, inner dim
    /// round(hidden/<paramref name="reduction"/>)) with train_config.json holding the authors' argument names.
    /// </summary>
    public static TinyLora WriteLora(string directory, TinyLlamaSpec spec, int peftRank = 8, double peftAlpha = 16, int reduction = 32, double alpha = 4, double scale = 1.0)
    {
        ArgumentNullException.ThrowIfNull(spec);
        string peftDir = Path.Combine(directory, "peft");
        Directory.CreateDirectory(peftDir);
        int h = spec.HiddenSize;
        var peft = new SafetensorsWriter();
        for (int i = 0; i < spec.Layers; i++)
        {
            foreach (var (proj, outDim) in new[] { ("q_proj", h), ("v_proj", spec.KvWidth) })
            {
                string p = $"base_model.model.model.layers.{i}.self_attn.{proj}.";
                long[] a = [peftRank, h], b = [outDim, peftRank];
                peft.AddFloat32(p + "lora_A.weight", a, TensorValues(spec.Seed + 7, p + "A", a, scale));
                peft.AddFloat32(p + "lora_B.weight", b, TensorValues(spec.Seed + 7, p + "B", b, scale));
            }
        }
        peft.Write(Path.Combine(peftDir, "adapter_model.safetensors"));
        WriteJson(Path.Combine(peftDir, "adapter_config.json"), w =>
        {
            w.WriteStartObject();
            w.WriteString("peft_type", "LORA");
            w.WriteString("task_type", "CAUSAL_LM");
            w.WriteNumber("r", peftRank);
            w.WriteNumber("lora_alpha", peftAlpha);
            w.WriteNumber("lora_dropout", 0.0);
            w.WriteStartArray("target_modules");
            w.WriteStringValue("q_proj");
            w.WriteStringValue("v_proj");
            w.WriteEndArray();
            w.WriteBoolean("fan_in_fan_out", false);
            w.WriteString("bias", "none");
            w.WriteBoolean("use_rslora", false);
            w.WriteBoolean("use_dora", false);
            w.WriteEndObject();
        });

        int rank = (int)Math.Round(h / (double)reduction, MidpointRounding.ToEven);
        var avsr = new SafetensorsWriter();
        for (int i = 0; i < spec.Layers; i++)
        {
            string p = $"llm.model.layers.{i}.self_attn.";
            foreach (var (m, outDim) in new[] { ("Q", h), ("V", spec.KvWidth) })
            {
                long[] down = [rank, h], up = [outDim, rank];
                avsr.AddFloat32(p + $"lora_down_{m}.weight", down, TensorValues(spec.Seed + 11, p + "down" + m, down, scale));
                avsr.AddFloat32(p + $"lora_up_{m}.weight", up, TensorValues(spec.Seed + 11, p + "up" + m, up, scale));
            }
        }
        string ckpt = Path.Combine(directory, "avsr_lora.safetensors");
        avsr.Write(ckpt);
        string trainConfig = Path.Combine(directory, "train_config.json");
        WriteJson(trainConfig, w =>
        {
            w.WriteStartObject();
            w.WriteNumber("reduction_lora", reduction);
            w.WriteNumber("alpha", alpha);
            w.WriteEndObject();
        });
        return new TinyLora(peftDir, ckpt, trainConfig, reduction, alpha, peftRank, peftAlpha) { AvsrRank = rank };
    }

    /// <summary>
    /// Writes a Llama-AVSR-style checkpoint as safetensors: the LLM under "llm." with its embedding (and
    /// lm_head) grown by the 5 AVSR special tokens, its LoRA (lora_{down,up}_{Q,V}, inner dim
    /// round(hidden/reduction)), and a few non-LLM tensors (projector, encoder) that conversion must ignore;
    /// plus the training-arguments JSON (reduction_lora, alpha) beside it unless <paramref name="trainConfig"/> is null.
    /// </summary>
    public static void WriteAvsrCheckpoint(string path, TinyLlamaSpec spec, int reduction = 32, double alpha = 4, string? trainConfig = null, double loraScale = 1.0)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var w = new SafetensorsStreamWriter();
        AddAvsrLlmTensors(w, spec, reduction, loraScale, TensorDType.F32);
        long[] proj = [spec.HiddenSize, 64];
        w.AddFloat("audio_proj.fc1.weight", TensorDType.F32, proj, () => TensorValues(spec.Seed, "proj", proj, 1));
        w.AddFloat("video_encoder.layer0.weight", TensorDType.F32, [8, 8], () => TensorValues(spec.Seed, "enc", [8, 8], 1));
        w.Write(path);
        if (trainConfig is not null)
        {
            WriteJson(trainConfig, j =>
            {
                j.WriteStartObject();
                j.WriteNumber("reduction_lora", reduction);
                j.WriteNumber("alpha", alpha);
                j.WriteString("llm_model", "meta-llama/Llama-3.2-1B");
                j.WriteEndObject();
            });
        }
    }

    /// <summary>
    /// Declares the <c>llm.*</c> tensors of a Llama-AVSR checkpoint on <paramref name="w"/> (generated when the file is
    /// written): the base weights of <paramref name="spec"/> with the embedding (and lm_head, also written when tied, as
    /// the authors' state dict holds it) grown by the 5 AVSR special tokens, and LoRA <c>lora_{down,up}_{Q,V}</c> of
    /// inner dim round(hidden/<paramref name="reduction"/>) on every layer (<c>lora_up_V</c> outputs the KV width).
    /// </summary>
    public static void AddAvsrLlmTensors(SafetensorsStreamWriter w, TinyLlamaSpec spec, int reduction, double loraScale, TensorDType dtype)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(spec);
        int baseVocab = VocabSizeOf(spec);
        int rows = baseVocab + 5;
        foreach (var (name, shape) in TensorShapes(spec, baseVocab))
        {
            long[] s = name is "model.embed_tokens.weight" or "lm_head.weight" ? [rows, spec.HiddenSize] : shape;
            string seedName = name is "model.embed_tokens.weight" or "lm_head.weight" ? name + ".avsr" : name;
            w.AddFloat("llm." + name, dtype, s, () => TensorValues(spec.Seed, seedName, s, spec.WeightScale));
        }
        if (spec.TieWordEmbeddings)
        {
            long[] s = [rows, spec.HiddenSize];
            w.AddFloat("llm.lm_head.weight", dtype, s, () => TensorValues(spec.Seed, "model.embed_tokens.weight.avsr", s, spec.WeightScale));
        }
        int h = spec.HiddenSize;
        int rank = (int)Math.Round(h / (double)reduction, MidpointRounding.ToEven);
        for (int i = 0; i < spec.Layers; i++)
        {
            string p = $"llm.model.layers.{i}.self_attn.";
            foreach (var (m, outDim) in new[] { ("Q", h), ("V", spec.KvWidth) })
            {
                long[] down = [rank, h], up = [outDim, rank];
                w.AddFloat(p + $"lora_down_{m}.weight", dtype, down, () => TensorValues(spec.Seed + 11, p + "down" + m, down, loraScale));
                w.AddFloat(p + $"lora_up_{m}.weight", dtype, up, () => TensorValues(spec.Seed + 11, p + "up" + m, up, loraScale));
            }
        }
    }

    internal static void WriteJson(string path, Action<Utf8JsonWriter> write)
    {
        AtomicFile.Write(path, stream =>
        {
            using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
            write(w);
        });
    }

    private static double Gaussian(Random rng)
    {
        double u1 = 1.0 - rng.NextDouble();
        double u2 = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    private static int StableHash(string s)
    {
        unchecked
        {
            int h = (int)2166136261;
            foreach (char c in s)
            {
                h = (h ^ c) * 16777619;
            }
            return h;
        }
    }
}
