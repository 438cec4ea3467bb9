using EdgeAvsr.Quantize.Hf;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Formats.Gguf;

namespace EdgeAvsr.Quantize.Conversion;

/// <summary>
/// The per-tensor ggml type of each file type, following llama_model_quantize of llama.cpp v0.5.0
/// (llama-quant.cpp) for the llama architecture without an importance matrix: 1-D tensors and norms
/// stay F32; the output (or the token embedding when it is tied) goes to Q6_K unless the default is
/// Q8_0; the _M mixes give attn_v and ffn_down Q6_K on the layers <c>use_more_bits</c> picks (counted in
/// file order); K-quant tensors whose rows are not whole 256-blocks fall back as llama.cpp does.
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
        return end > 4 && int.TryParse(name.AsSpan(4, end - 4), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int l) ? l : -1;
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

    /// <summary>Whether llama.cpp quantizes a tensor at all: 2-D or more weights other than norms (the rest stay float).</summary>
    public static bool IsQuantizable(string name, ReadOnlySpan<long> ne)
    {
        ArgumentNullException.ThrowIfNull(name);
        return ne.Length >= 2 && name.EndsWith("weight", StringComparison.Ordinal) && !name.Contains("_norm.weight", StringComparison.Ordinal);
    }

    /// <summary>The type of every tensor (in file order) of a model with the given layer and head counts.</summary>
    public static GgmlType[] Assign(IReadOnlyList<PlannedTensor> plan, LlamaFileType fileType, int nLayer, int nHead, int nHeadKv)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var baseType = DefaultType(fileType);
        bool quantized = fileType is not (LlamaFileType.F32 or LlamaFileType.F16);
        bool tied = !plan.Any(t => t.Name == "output.weight");
        int nAttnV = plan.Count(t => t.Name.Contains("attn_v.weight", StringComparison.Ordinal));
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
            var type = baseType;
            if (quantized)
            {
                bool isOutput = t.Name == "output.weight";
                bool isTokenEmbd = t.Name == "token_embd.weight";
                if (isOutput || (tied && isTokenEmbd))
                {
                    if (t.RowLength % GgmlTypes.BlockSize(type) != 0)
                    {
                        type = GgmlType.Q8_0;
                    }
                    else if (type != GgmlType.Q8_0)
                    {
                        type = GgmlType.Q6_K;
                    }
                }
                else if (t.Name.Contains("attn_v.weight", StringComparison.Ordinal))
                {
                    if ((fileType is LlamaFileType.Q4_K_M or LlamaFileType.Q5_K_M) && UseMoreBits(iAttnV, nAttnV))
                    {
                        type = GgmlType.Q6_K;
                    }
                    if (is70B && type == GgmlType.Q4_K)
                    {
                        type = GgmlType.Q5_K;
                    }
                    iAttnV++;
                }
                else if (t.Name.Contains("ffn_down", StringComparison.Ordinal))
                {
                    if ((fileType is LlamaFileType.Q4_K_M or LlamaFileType.Q5_K_M) && UseMoreBits(iFfnDown, nLayer))
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

    private static GgmlType Fallback(PlannedTensor t, GgmlType type)
    {
        if (t.RowLength % GgmlTypes.BlockSize(type) == 0)
        {
            return type;
        }
        return type switch
        {
            GgmlType.Q6_K when t.RowLength % 32 == 0 => GgmlType.Q8_0,
            _ => throw new EdgeAvsrException($"tensor '{t.Name}' has rows of {t.RowLength} values, not a multiple of the {GgmlTypes.Name(type)} block size {GgmlTypes.BlockSize(type)}; llama.cpp would fall back to a type EdgeAvsr does not write (use q8_0 or q6_k, or a model whose widths are multiples of 256)"),
        };
    }
}
