using System.Text;
using System.Text.Json;
using EdgeAvsr.Quantize.Hf;

namespace EdgeAvsr.Synthetic;

/// <summary>The tokenizer side: the seeded corpus, the learned byte-level BPE vocabulary, tokenizer.json and config.json.</summary>
public static partial class TinyLlamaGenerator
{
    private const string ChatTemplate = "{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + " +
        "message['content'] | trim + '<|eot_id|>' }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% " +
        "endif %}";

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
}
