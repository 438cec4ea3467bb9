namespace EdgeAvsr.Runtime.Formats.Gguf;

/// <summary>
/// Checks, in managed code, everything about a llama GGUF that llama.cpp v0.5.0 would otherwise abort
/// the process on (GGML_ASSERT in hyperparameter loading) or reject with a vaguer message: required keys
/// and their exact types, layer count 1..512, head geometry, expert counts, rope scaling type, the
/// tokenizer arrays, and every tensor's name, type and shape. Throws <see cref="EdgeAvsrException"/>
/// naming the file and the key or tensor.
/// </summary>
public static class LlamaGgufValidator
{
    /// <summary>LLAMA_MAX_LAYERS of llama.cpp v0.5.0.</summary>
    public const int MaxLayers = 512;

    /// <summary>LLAMA_MAX_EXPERTS of llama.cpp v0.5.0.</summary>
    public const int MaxExperts = 1024;

    public static LlamaHyperparameters Validate(string path)
    {
        using var file = GgufFile.Open(path);
        return Validate(file);
    }

    public static LlamaHyperparameters Validate(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        string p = file.FilePath;
        string arch = RequireString(file, "general.architecture");
        if (arch != "llama")
        {
            throw new EdgeAvsrException($"{p}: general.architecture is '{arch}'; EdgeAvsr runs the 'llama' architecture only");
        }
        int nLayer = RequireU32(file, "llama.block_count", 1, MaxLayers);
        int nEmbd = RequireU32(file, "llama.embedding_length", 1, int.MaxValue);
        int nCtx = RequireU32(file, "llama.context_length", 1, int.MaxValue);
        float eps = RequireF32(file, "llama.attention.layer_norm_rms_epsilon");
        if (!(eps > 0) || !float.IsFinite(eps))
        {
            throw new EdgeAvsrException($"{p}: llama.attention.layer_norm_rms_epsilon is {eps}, expected a positive number");
        }
        int nextn = OptionalU32(file, "llama.nextn_predict_layers", 0);
        if (nextn > nLayer)
        {
            throw new EdgeAvsrException($"{p}: llama.nextn_predict_layers {nextn} exceeds llama.block_count {nLayer}");
        }
        int nExpert = OptionalU32(file, "llama.expert_count", 0);
        int nExpertUsed = OptionalU32(file, "llama.expert_used_count", 0);
        int nGroups = OptionalU32(file, "llama.expert_group_count", 0);
        if (nExpert > MaxExperts || nExpertUsed > nExpert || (nExpert > 0 && nExpertUsed == 0) || (nExpert == 0 && nGroups != 0)
            || (nExpert > 0 && nGroups >= nExpert))
        {
            throw new EdgeAvsrException($"{p}: expert counts are inconsistent (expert_count {nExpert}, expert_used_count {nExpertUsed}, " +
                $"expert_group_count {nGroups}; at most {MaxExperts} experts)");
        }
        if (nExpert > 0)
        {
            throw new EdgeAvsrException($"{p}: llama.expert_count {nExpert}: mixture-of-experts LLMs are not supported by EdgeAvsr");
        }
        int nFf = RequirePerLayer(file, "llama.feed_forward_length", nLayer, 1);
        int nHead = RequirePerLayer(file, "llama.attention.head_count", nLayer, 1);
        int nHeadKv = file.Find("llama.attention.head_count_kv") is null ? nHead : RequirePerLayer(file, "llama.attention.head_count_kv", nLayer, 1);
        if (nHeadKv > nHead || nHead % nHeadKv != 0)
        {
            throw new EdgeAvsrException($"{p}: llama.attention.head_count {nHead} is not a multiple of head_count_kv {nHeadKv}");
        }
        if (nEmbd % nHead != 0 && file.Find("llama.attention.key_length") is null)
        {
            throw new EdgeAvsrException($"{p}: llama.embedding_length {nEmbd} is not divisible by llama.attention.head_count {nHead}");
        }
        int headDim = OptionalU32(file, "llama.attention.key_length", nEmbd / nHead);
        int headDimV = OptionalU32(file, "llama.attention.value_length", headDim);
        if (headDim < 1 || headDimV != headDim)
        {
            throw new EdgeAvsrException($"{p}: attention key_length {headDim} and value_length {headDimV} must be equal and positive");
        }
        int nRot = OptionalU32(file, "llama.rope.dimension_count", headDim);
        if (nRot != headDim)
        {
            throw new EdgeAvsrException($"{p}: llama.rope.dimension_count {nRot} must equal the head dimension {headDim} for llama");
        }
        float freqBase = file.Find("llama.rope.freq_base") is null ? 10000f : RequireF32(file, "llama.rope.freq_base");
        if (file.Find("llama.rope.scaling.type") is not null)
        {
            string scaling = RequireString(file, "llama.rope.scaling.type");
            if (scaling is not ("none" or "linear" or "yarn" or "longrope"))
            {
                throw new EdgeAvsrException($"{p}: llama.rope.scaling.type '{scaling}' is not one of none, linear, yarn, longrope");
            }
        }

        int nVocab = ValidateTokenizer(file);
        if (file.Find("llama.vocab_size") is not null)
        {
            int declared = RequireU32(file, "llama.vocab_size", 1, int.MaxValue);
            if (nVocab > 0 && declared != nVocab)
            {
                throw new EdgeAvsrException($"{p}: llama.vocab_size {declared} differs from the {nVocab} tokens in tokenizer.ggml.tokens");
            }
            nVocab = declared;
        }
        if (nVocab <= 0)
        {
            throw new EdgeAvsrException($"{p}: no vocabulary: tokenizer.ggml.tokens and llama.vocab_size are both missing");
        }

        int qWidth = nHead * headDim;
        int kvWidth = nHeadKv * headDim;
        RequireTensor(file, "token_embd.weight", nEmbd, nVocab);
        RequireTensor(file, "output_norm.weight", nEmbd);
        bool tied = file.FindTensor("output.weight") is null;
        if (!tied)
        {
            RequireTensor(file, "output.weight", nEmbd, nVocab);
        }
        if (file.FindTensor("rope_freqs.weight") is not null)
        {
            RequireTensor(file, "rope_freqs.weight", headDim / 2);
        }
        for (int i = 0; i < nLayer; i++)
        {
            RequireTensor(file, $"blk.{i}.attn_norm.weight", nEmbd);
            RequireTensor(file, $"blk.{i}.attn_q.weight", nEmbd, qWidth);
            RequireTensor(file, $"blk.{i}.attn_k.weight", nEmbd, kvWidth);
            RequireTensor(file, $"blk.{i}.attn_v.weight", nEmbd, kvWidth);
            RequireTensor(file, $"blk.{i}.attn_output.weight", qWidth, nEmbd);
            RequireTensor(file, $"blk.{i}.ffn_norm.weight", nEmbd);
            RequireTensor(file, $"blk.{i}.ffn_gate.weight", nEmbd, nFf);
            RequireTensor(file, $"blk.{i}.ffn_up.weight", nEmbd, nFf);
            RequireTensor(file, $"blk.{i}.ffn_down.weight", nFf, nEmbd);
        }
        return new LlamaHyperparameters(nLayer, nEmbd, nFf, nHead, nHeadKv, headDim, nCtx, eps, freqBase, nVocab, tied);
    }

    /// <summary>Checks the tokenizer keys; returns the token count (0 for a "none" vocabulary).</summary>
    private static int ValidateTokenizer(GgufFile file)
    {
        string p = file.FilePath;
        string model = RequireString(file, "tokenizer.ggml.model");
        if (model is "none" or "no_vocab")
        {
            return 0;
        }
        if (model is not ("llama" or "gpt2"))
        {
            throw new EdgeAvsrException($"{p}: tokenizer.ggml.model '{model}' is not supported (expected gpt2 or llama)");
        }
        var tokens = RequireArray(file, "tokenizer.ggml.tokens", GgufValueType.String);
        int n = (int)tokens.Count;
        if (n == 0)
        {
            throw new EdgeAvsrException($"{p}: tokenizer.ggml.tokens is empty");
        }
        if (file.Find("tokenizer.ggml.token_type") is not null)
        {
            var types = RequireArray(file, "tokenizer.ggml.token_type", GgufValueType.Int32);
            if (types.Count != n)
            {
                throw new EdgeAvsrException($"{p}: tokenizer.ggml.token_type has {types.Count} entries for {n} tokens");
            }
        }
        if (file.Find("tokenizer.ggml.scores") is { } scores)
        {
            if (!scores.IsArray || scores.ElementType is not (GgufValueType.Float32 or GgufValueType.Int32) || scores.Count != n)
            {
                throw new EdgeAvsrException($"{p}: tokenizer.ggml.scores must be a float32 array with one entry per token ({n}), found " +
                    $"{scores.Describe()} of {scores.Count}");
            }
        }
        if (model == "gpt2")
        {
            var merges = RequireArray(file, "tokenizer.ggml.merges", GgufValueType.String);
            foreach (string m in (string[])merges.Value)
            {
                int space = m.IndexOf(' ', 1);
                if (space <= 0 || space == m.Length - 1)
                {
                    throw new EdgeAvsrException($"{p}: tokenizer.ggml.merges entry '{m}' is not two tokens separated by a space");
                }
            }
            if (file.Find("tokenizer.ggml.pre") is not null)
            {
                RequireString(file, "tokenizer.ggml.pre");
            }
        }
        foreach (string idKey in new[] { "bos_token_id", "eos_token_id", "eot_token_id", "eom_token_id", "unknown_token_id", "seperator_token_id",
            "padding_token_id" })
        {
            string key = "tokenizer.ggml." + idKey;
            if (file.Find(key) is not null)
            {
                RequireU32(file, key, 0, n - 1);
            }
        }
        foreach (string boolKey in new[] { "add_bos_token", "add_eos_token", "add_space_prefix" })
        {
            string key = "tokenizer.ggml." + boolKey;
            if (file.Find(key) is { } v && v.Type != GgufValueType.Bool)
            {
                throw new EdgeAvsrException($"{p}: {key} has type {v.Describe()}, expected bool");
            }
        }
        if (file.Find("tokenizer.chat_template") is not null)
        {
            RequireString(file, "tokenizer.chat_template");
        }
        return n;
    }

    private static void RequireTensor(GgufFile file, string name, params long[] ne)
    {
        var t = file.FindTensor(name) ?? throw new EdgeAvsrException($"{file.FilePath}: tensor '{name}' is missing");
        if (!t.Ne.AsSpan().SequenceEqual(ne))
        {
            throw new EdgeAvsrException($"{file.FilePath}: tensor '{name}' has ne {t.ShapeText}, expected {TensorDTypes.FormatShape(ne)}");
        }
    }

    private static GgufValue Require(GgufFile file, string key) =>
        file.Find(key) ?? throw new EdgeAvsrException($"{file.FilePath}: required key '{key}' is missing");

    private static string RequireString(GgufFile file, string key)
    {
        var v = Require(file, key);
        return v.Type == GgufValueType.String ? (string)v.Value : throw WrongType(file, key, v, "string");
    }

    private static float RequireF32(GgufFile file, string key)
    {
        var v = Require(file, key);
        return v.Type == GgufValueType.Float32 ? (float)v.Value : throw WrongType(file, key, v, "float32");
    }

    private static int RequireU32(GgufFile file, string key, int min, int max)
    {
        var v = Require(file, key);
        if (v.Type != GgufValueType.UInt32)
        {
            throw WrongType(file, key, v, "uint32");
        }
        uint x = (uint)v.Value;
        if (x < (uint)min || x > (uint)max)
        {
            throw new EdgeAvsrException($"{file.FilePath}: {key} is {x}, expected {min} to {max}");
        }
        return (int)x;
    }

    private static int OptionalU32(GgufFile file, string key, int fallback) =>
        file.Find(key) is null ? fallback : RequireU32(file, key, 0, int.MaxValue);

    /// <summary>A uint32, or a per-layer array (llama.cpp's get_key_or_arr) whose entries must all be equal here.</summary>
    private static int RequirePerLayer(GgufFile file, string key, int nLayer, int min)
    {
        var v = Require(file, key);
        if (!v.IsArray)
        {
            return RequireU32(file, key, min, int.MaxValue);
        }
        if (v.ElementType is not (GgufValueType.UInt32 or GgufValueType.Int32) || v.Count != nLayer)
        {
            throw new EdgeAvsrException($"{file.FilePath}: {key} is {v.Describe()} of {v.Count}, expected a uint32 or one integer per layer ({nLayer})");
        }
        var values = ((Array)v.Value).Cast<object>().Select(Convert.ToInt64).Distinct().ToArray();
        if (values.Length != 1 || values[0] < min || values[0] > int.MaxValue)
        {
            throw new EdgeAvsrException($"{file.FilePath}: {key} varies per layer or is out of range; EdgeAvsr expects one value >= {min}");
        }
        return (int)values[0];
    }

    private static GgufValue RequireArray(GgufFile file, string key, GgufValueType elementType)
    {
        var v = Require(file, key);
        return v.IsArray && v.ElementType == elementType ? v : throw WrongType(file, key, v, $"array of {GgufValue.TypeName(elementType)}");
    }

    private static EdgeAvsrException WrongType(GgufFile file, string key, GgufValue v, string expected) =>
        new($"{file.FilePath}: key '{key}' has type {v.Describe()}, expected {expected}");
}
