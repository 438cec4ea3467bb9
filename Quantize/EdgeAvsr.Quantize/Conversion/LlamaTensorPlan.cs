using EdgeAvsr.Quantize.Hf;

namespace EdgeAvsr.Quantize.Conversion;

/// <summary>What one GGUF tensor is made of.</summary>
public enum TensorRole
{
    TokenEmbedding,
    Output,
    OutputNorm,
    RopeFreqs,
    AttnNorm,
    AttnQ,
    AttnK,
    AttnV,
    AttnOutput,
    FfnNorm,
    FfnGate,
    FfnUp,
    FfnDown,
}

/// <summary>One GGUF tensor to produce: its GGUF name, ne (row length first), role, layer and HF source name.</summary>
public sealed record PlannedTensor(string Name, long[] Ne, TensorRole Role, int Layer, string? SourceName)
{
    public long Rows => Ne.Length == 1 ? 1 : Ne[1];

    public long RowLength => Ne[0];

    public long ElementCount => Ne.Aggregate(1L, (a, b) => a * b);
}

/// <summary>The GGUF tensor list of a Llama model, in the order EdgeAvsr writes it.</summary>
public static class LlamaTensorPlan
{
    public static IReadOnlyList<PlannedTensor> Create(HfLlamaConfig c, int vocabRows, bool writeOutput)
    {
        ArgumentNullException.ThrowIfNull(c);
        var list = new List<PlannedTensor>();
        if (c.RopeScaling is not null)
        {
            list.Add(new("rope_freqs.weight", [c.HeadDim / 2], TensorRole.RopeFreqs, -1, null));
        }
        list.Add(new("token_embd.weight", [c.HiddenSize, vocabRows], TensorRole.TokenEmbedding, -1, "model.embed_tokens.weight"));
        for (int i = 0; i < c.NumHiddenLayers; i++)
        {
            string hf = $"model.layers.{i}.";
            list.Add(new($"blk.{i}.attn_norm.weight", [c.HiddenSize], TensorRole.AttnNorm, i, hf + "input_layernorm.weight"));
            list.Add(new($"blk.{i}.attn_q.weight", [c.HiddenSize, c.QWidth], TensorRole.AttnQ, i, hf + "self_attn.q_proj.weight"));
            list.Add(new($"blk.{i}.attn_k.weight", [c.HiddenSize, c.KvWidth], TensorRole.AttnK, i, hf + "self_attn.k_proj.weight"));
            list.Add(new($"blk.{i}.attn_v.weight", [c.HiddenSize, c.KvWidth], TensorRole.AttnV, i, hf + "self_attn.v_proj.weight"));
            list.Add(new($"blk.{i}.attn_output.weight", [c.QWidth, c.HiddenSize], TensorRole.AttnOutput, i, hf + "self_attn.o_proj.weight"));
            list.Add(new($"blk.{i}.ffn_norm.weight", [c.HiddenSize], TensorRole.FfnNorm, i, hf + "post_attention_layernorm.weight"));
            list.Add(new($"blk.{i}.ffn_gate.weight", [c.HiddenSize, c.IntermediateSize], TensorRole.FfnGate, i, hf + "mlp.gate_proj.weight"));
            list.Add(new($"blk.{i}.ffn_up.weight", [c.HiddenSize, c.IntermediateSize], TensorRole.FfnUp, i, hf + "mlp.up_proj.weight"));
            list.Add(new($"blk.{i}.ffn_down.weight", [c.IntermediateSize, c.HiddenSize], TensorRole.FfnDown, i, hf + "mlp.down_proj.weight"));
        }
        list.Add(new("output_norm.weight", [c.HiddenSize], TensorRole.OutputNorm, -1, "model.norm.weight"));
        if (writeOutput)
        {
            list.Add(new("output.weight", [c.HiddenSize, vocabRows], TensorRole.Output, -1, "lm_head.weight"));
        }
        // llama.cpp's loader (and so llama_model_quantize) orders tensors this way; writing in the same
        // order makes our quantized files comparable byte for byte.
        list.Sort((a, b) => LlamaQuantRule.CompareNames(a.Name, b.Name));
        return list;
    }

    /// <summary>
    /// llama.cpp's Q/K row permutation (conversion: permute(W, n_head, n_kv)): within each head, HF's
    /// rotate-half row order becomes interleaved pairs: new[h*hd + 2j + k] = old[h*hd + k*hd/2 + j].
    /// </summary>
    public static float[] PermuteRows(float[] w, int heads, int headDim, int rowLength)
    {
        ArgumentNullException.ThrowIfNull(w);
        var result = new float[w.Length];
        int half = headDim / 2;
        for (int h = 0; h < heads; h++)
        {
            for (int j = 0; j < half; j++)
            {
                for (int k = 0; k < 2; k++)
                {
                    int dst = h * headDim + 2 * j + k;
                    int src = h * headDim + k * half + j;
                    Array.Copy(w, (long)src * rowLength, result, (long)dst * rowLength, rowLength);
                }
            }
        }
        return result;
    }

    /// <summary>Llama-3 rope frequency factors, as convert_hf_to_gguf derives them from rope_scaling (float32 math).</summary>
    public static float[] Llama3RopeFactors(HfLlamaConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        var s = c.RopeScaling ?? throw new InvalidOperationException("no rope_scaling");
        int dim = c.HeadDim;
        var factors = new float[dim / 2];
        float lowWavelen = (float)(s.OriginalMaxPositionEmbeddings / s.LowFreqFactor);
        float highWavelen = (float)(s.OriginalMaxPositionEmbeddings / s.HighFreqFactor);
        for (int i = 0; i < factors.Length; i++)
        {
            float freq = 1f / MathF.Pow((float)c.RopeTheta, 2 * i / (float)dim);
            float wavelen = (float)(2 * Math.PI) / freq;
            if (wavelen < highWavelen)
            {
                factors[i] = 1f;
            }
            else if (wavelen > lowWavelen)
            {
                factors[i] = (float)s.Factor;
            }
            else
            {
                float smooth = (float)((s.OriginalMaxPositionEmbeddings / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor));
                factors[i] = (float)(1 / ((1 - smooth) / s.Factor + smooth));
            }
        }
        return factors;
    }
}
