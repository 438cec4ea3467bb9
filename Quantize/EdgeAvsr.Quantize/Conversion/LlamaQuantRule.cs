using EdgeAvsr.Quantize.Hf;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Formats.Gguf;

namespace EdgeAvsr.Quantize.Conversion;

/// <summary>
/// The per-tensor ggml type of each file type, following llama_model_quantize of the pinned llama.cpp (b10221,
/// src/llama-quant.cpp: llama_tensor_get_type and tensor_type_fallback) for the llama architecture without an
/// importance matrix or overrides. Norms and 1-D tensors keep their type. The output (or the token embedding
/// when it is tied) goes to Q8_0 when its rows are not whole blocks of the default type, otherwise to Q6_K
/// unless the default is Q8_0. The _M mixes give attn_v and ffn_down Q6_K on the layers <c>use_more_bits</c>
/// picks (attn_v counted in file order). A quantized type whose block does not divide the row length then
/// falls back: Q4_K to Q5_0, Q5_K to Q5_1, Q6_K to Q8_0, and to F16 when even that block does not divide it.
/// </summary>
public static class LlamaQuantRule
{
    /// <summary>llama.cpp's tensor order (weight_name_comparer): non-layer tensors, then each layer; by name within.</summary>
    public static int CompareNames(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        int la = LayerOf(a), lb = LayerOf(b);
        return la != lb ? la.CompareTo(lb) : string.CompareOrdinal(a, b);
    }

    private static int LayerOf(string name)
    {
        if (!name.StartsWith("blk.", StringComparison.Ordinal))
        {
            return -1;
        }
        int end = name.IndexOf('.', 4);
        return end > 4 && int.TryParse(name.AsSpan(4, end - 4), System.Globalization.NumberStyles.Integer,
            System.Globalization.CultureInfo.InvariantCulture, out int l) ? l : -1;
    }

    public static GgmlType DefaultType(LlamaFileType fileType) => fileType switch
    {
        LlamaFileType.F32 => GgmlType.F32,
        LlamaFileType.F16 => GgmlType.F16,
        LlamaFileType.Q4_0 => GgmlType.Q4_0,
        LlamaFileType.Q8_0 => GgmlType.Q8_0,
        LlamaFileType.Q4_K_M => GgmlType.Q4_K,
        LlamaFileType.Q5_K_M => GgmlType.Q5_K,
        LlamaFileType.Q6_K => GgmlType.Q6_K,
        _ => throw new ArgumentOutOfRangeException(nameof(fileType)),
    };

    /// <summary>The type of every tensor of <paramref name="plan"/> (which must be in file order).</summary>
    public static GgmlType[] Assign(IReadOnlyList<PlannedTensor> plan, LlamaFileType fileType, HfLlamaConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return Assign(plan, fileType, config.NumHiddenLayers, config.NumAttentionHeads, config.NumKeyValueHeads);
    }

    /// <summary>ggml_n_dims: the dimensions up to the last one larger than 1 (at least 1).</summary>
    public static int DimensionCount(ReadOnlySpan<long> ne)
    {
        for (int i = ne.Length - 1; i >= 1; i--)
        {
            if (ne[i] != 1)
            {
                return i + 1;
            }
        }
        return 1;
    }

    /// <summary>
    /// Whether llama.cpp quantizes a tensor at all (tensor_allows_quantization): weights of 2 or more dimensions
    /// other than norms. Its other exclusions name tensors no llama-architecture GGUF holds.
    /// </summary>
    public static bool IsQuantizable(string name, ReadOnlySpan<long> ne)
    {
        ArgumentNullException.ThrowIfNull(name);
        return DimensionCount(ne) >= 2 && name.EndsWith("weight", StringComparison.Ordinal) && !name.Contains("_norm.weight", StringComparison.Ordinal);
    }

    /// <summary>llama.cpp's broad tensor categories (tensor_get_category), tested in its order.</summary>
    private enum Category
    {
        TokenEmbedding,
        Output,
        AttnV,
        AttnK,
        AttnQ,
        AttnOutput,
        FfnUp,
        FfnGate,
        FfnDown,
        Other,
    }

    private static Category CategoryOf(string name)
    {
        if (name == "output.weight")
        {
            return Category.Output;
        }
        if (name is "token_embd.weight" or "per_layer_token_embd.weight")
        {
            return Category.TokenEmbedding;
        }
        // attn_qkv and attn_kv_b count as attn_v in llama.cpp; a llama GGUF has neither, but the rule is the same.
        if (name.Contains("attn_qkv.weight", StringComparison.Ordinal) || name.Contains("attn_kv_b.weight", StringComparison.Ordinal)
            || name.Contains("attn_v.weight", StringComparison.Ordinal))
        {
            return Category.AttnV;
        }
        return name.Contains("attn_k.weight", StringComparison.Ordinal) ? Category.AttnK
            : name.Contains("attn_q.weight", StringComparison.Ordinal) ? Category.AttnQ
            : name.Contains("attn_output.weight", StringComparison.Ordinal) ? Category.AttnOutput
            : name.Contains("ffn_up", StringComparison.Ordinal) ? Category.FfnUp
            : name.Contains("ffn_gate", StringComparison.Ordinal) ? Category.FfnGate
            : name.Contains("ffn_down", StringComparison.Ordinal) ? Category.FfnDown
            : Category.Other;
    }

    /// <summary>The type of every tensor (in file order) of a model with the given layer and head counts.</summary>
    public static GgmlType[] Assign(IReadOnlyList<PlannedTensor> plan, LlamaFileType fileType, int nLayer, int nHead, int nHeadKv)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var defaultType = DefaultType(fileType);
        bool quantized = fileType is not (LlamaFileType.F32 or LlamaFileType.F16);
        bool mix = fileType is LlamaFileType.Q4_K_M or LlamaFileType.Q5_K_M;
        var categories = plan.Select(t => CategoryOf(t.Name)).ToArray();
        bool tied = !categories.Contains(Category.Output);
        int nAttnV = categories.Count(c => c == Category.AttnV);
        // llama.cpp's LLM_TYPE_70B: a llama with 80 layers and grouped KV heads.
        bool is70B = nLayer == 80 && nHead != nHeadKv;
        int iAttnV = 0, iFfnDown = 0;
        var types = new GgmlType[plan.Count];
        for (int k = 0; k < plan.Count; k++)
        {
            var t = plan[k];
            if (!IsQuantizable(t.Name, t.Ne))
            {
                types[k] = GgmlType.F32;
                continue;
            }
            var type = defaultType;
            if (quantized)
            {
                var category = categories[k];
                if (category == Category.Output || (tied && category == Category.TokenEmbedding))
                {
                    // Decided on the default type's block, before any fallback.
                    if (t.RowLength % GgmlTypes.BlockSize(type) != 0)
                    {
                        type = GgmlType.Q8_0;
                    }
                    else if (type != GgmlType.Q8_0)
                    {
                        type = GgmlType.Q6_K;
                    }
                }
                else if (category == Category.AttnV)
                {
                    if (mix && UseMoreBits(iAttnV, nAttnV))
                    {
                        type = GgmlType.Q6_K;
                    }
                    if (is70B && type == GgmlType.Q4_K)
                    {
                        type = GgmlType.Q5_K;
                    }
                    iAttnV++;
                }
                else if (category == Category.FfnDown)
                {
                    // Without experts llama.cpp takes the layer from its ffn_down counter, over n_layer.
                    if (mix && UseMoreBits(iFfnDown, nLayer))
                    {
                        type = GgmlType.Q6_K;
                    }
                    iFfnDown++;
                }
                type = Fallback(t, type);
            }
            types[k] = type;
        }
        return types;
    }

    private static bool UseMoreBits(int i, int n) => i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;

    /// <summary>tensor_type_fallback: a type whose block does not divide the row length gives way to a 32-block one, else F16.</summary>
    public static GgmlType Fallback(PlannedTensor tensor, GgmlType type)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        long rowLength = tensor.RowLength;
        if (rowLength % GgmlTypes.BlockSize(type) == 0)
        {
            return type;
        }
        var fallback = type switch
        {
            GgmlType.Q2_K or GgmlType.Q3_K => GgmlType.Q4_0,
            GgmlType.Q4_K => GgmlType.Q5_0,
            GgmlType.Q5_K => GgmlType.Q5_1,
            GgmlType.Q6_K => GgmlType.Q8_0,
            _ => throw new EdgeAvsrException($"tensor '{tensor.Name}' has rows of {rowLength} values, not a multiple of the "
                + $"{GgmlTypes.Name(type)} block size {GgmlTypes.BlockSize(type)}, and llama.cpp has no fallback for {GgmlTypes.Name(type)}; "
                + "use a k-quant type (q4_k_m, q5_k_m, q6_k) or f16"),
        };
        return rowLength % GgmlTypes.BlockSize(fallback) == 0 ? fallback : GgmlType.F16;
    }
}
