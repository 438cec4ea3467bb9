using System.Text.Json;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Runtime.Tests.Decoding;

/// <summary>A low-rank update W + scale * Up @ Down of one projection (unmerged, applied on the fly).</summary>
internal sealed record ReferenceLora(float[] Down, float[] Up, int Rank, double Scale);

/// <summary>
/// An independent fp64 forward pass of a Hugging Face Llama (LlamaForCausalLM as in transformers 4.43) read
/// straight from its directory (config.json + safetensors, HF tensor names and layout, rotate-half RoPE with
/// the optional "llama3" frequency scaling), with optional unmerged LoRA on Q and V. Written for the tests
/// only; it shares no code with the GGUF conversion or llama.cpp.
/// </summary>
internal sealed class ReferenceLlama
{
    private readonly int _hidden, _layers, _heads, _kvHeads, _headDim, _ff, _vocab;
    private readonly double _eps;
    private readonly double[] _invFreq;
    private readonly float[] _embed, _lmHead, _finalNorm;
    private readonly Layer[] _blocks;

    private sealed record Layer(float[] InNorm, float[] Q, float[] K, float[] V, float[] O, float[] PostNorm, float[] Gate, float[] Up, float[] Down,
        ReferenceLora? LoraQ, ReferenceLora? LoraV);

    /// <summary>
    /// The HF model in <paramref name="hfDir"/>; with <paramref name="avsrCheckpoint"/>, the LLM weights come from a
    /// Llama-AVSR checkpoint (keys under "llm.", embedding grown by the added tokens) and its LoRA
    /// (lora_{down,up}_{Q,V}) is applied unmerged with scale alpha / reduction_lora read from <paramref name="trainConfig"/>.
    /// </summary>
    /// <remarks>With <paramref name="peftDir"/>, a PEFT LoRA adapter (lora_A/lora_B on q_proj/v_proj, scale lora_alpha / r) is applied unmerged.</remarks>
    public ReferenceLlama(string hfDir, string? avsrCheckpoint = null, string? trainConfig = null, string? peftDir = null)
    {
        using var config = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(hfDir, "config.json")));
        var c = config.RootElement;
        _hidden = c.GetProperty("hidden_size").GetInt32();
        _layers = c.GetProperty("num_hidden_layers").GetInt32();
        _heads = c.GetProperty("num_attention_heads").GetInt32();
        _kvHeads = c.TryGetProperty("num_key_value_heads", out var kv) ? kv.GetInt32() : _heads;
        _headDim = c.TryGetProperty("head_dim", out var hd) && hd.ValueKind == JsonValueKind.Number ? hd.GetInt32() : _hidden / _heads;
        _ff = c.GetProperty("intermediate_size").GetInt32();
        _vocab = c.GetProperty("vocab_size").GetInt32();
        _eps = c.GetProperty("rms_norm_eps").GetDouble();
        double theta = c.TryGetProperty("rope_theta", out var th) ? th.GetDouble() : 10000.0;
        bool tied = c.TryGetProperty("tie_word_embeddings", out var tie) && tie.ValueKind == JsonValueKind.True;
        _invFreq = new double[_headDim / 2];
        for (int i = 0; i < _invFreq.Length; i++)
        {
            _invFreq[i] = 1.0 / Math.Pow(theta, 2.0 * i / _headDim);
        }
        if (c.TryGetProperty("rope_scaling", out var rs) && rs.ValueKind == JsonValueKind.Object)
        {
            string type = rs.TryGetProperty("rope_type", out var rt) ? rt.GetString()! : rs.GetProperty("type").GetString()!;
            Assert.Equal("llama3", type);
            double factor = rs.GetProperty("factor").GetDouble(), low = rs.GetProperty("low_freq_factor").GetDouble(),
                high = rs.GetProperty("high_freq_factor").GetDouble();
            double original = rs.GetProperty("original_max_position_embeddings").GetDouble();
            double lowWavelen = original / low, highWavelen = original / high;
            for (int i = 0; i < _invFreq.Length; i++)
            {
                double wavelen = 2 * Math.PI / _invFreq[i];
                if (wavelen > lowWavelen)
                {
                    _invFreq[i] /= factor;
                }
                else if (wavelen >= highWavelen)
                {
                    double smooth = (original / wavelen - low) / (high - low);
                    _invFreq[i] = (1 - smooth) * _invFreq[i] / factor + smooth * _invFreq[i];
                }
            }
        }

        string prefix = avsrCheckpoint is null ? "" : "llm.";
        var files = (avsrCheckpoint is null ? Directory.GetFiles(hfDir, "*.safetensors") : [avsrCheckpoint]).Select(SafetensorsFile.Open).ToList();
        try
        {
            float[] Read(string name, params long[] shape) => files.First(f => f.Contains(prefix + name)).ReadFloat32(prefix + name, shape);
            if (avsrCheckpoint is not null)
            {
                _vocab = (int)files[0].Get("llm.model.embed_tokens.weight").Shape[0];
            }
            var lora = new Dictionary<int, (ReferenceLora? Q, ReferenceLora? V)>();
            if (avsrCheckpoint is not null && trainConfig is not null)
            {
                using var train = JsonDocument.Parse(File.ReadAllBytes(trainConfig));
                double scale = train.RootElement.GetProperty("alpha").GetDouble() / train.RootElement.GetProperty("reduction_lora").GetDouble();
                ReferenceLora Lora(int layer, string m)
                {
                    string p = $"llm.model.layers.{layer}.self_attn.";
                    var down = files[0].Get(p + $"lora_down_{m}.weight");
                    int rank = (int)down.Shape[0];
                    return new ReferenceLora(files[0].ReadFloat32(down.Name), files[0].ReadFloat32(p + $"lora_up_{m}.weight"), rank, scale);
                }
                for (int l = 0; l < _layers; l++)
                {
                    lora[l] = (Lora(l, "Q"), Lora(l, "V"));
                }
            }
            if (peftDir is not null)
            {
                using var adapterConfig = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(peftDir, "adapter_config.json")));
                int r = adapterConfig.RootElement.GetProperty("r").GetInt32();
                double scale = adapterConfig.RootElement.GetProperty("lora_alpha").GetDouble() / r;
                using var adapter = SafetensorsFile.Open(Path.Combine(peftDir, "adapter_model.safetensors"));
                ReferenceLora Lora(int layer, string proj)
                {
                    string p = $"base_model.model.model.layers.{layer}.self_attn.{proj}.";
                    return new ReferenceLora(adapter.ReadFloat32(p + "lora_A.weight"), adapter.ReadFloat32(p + "lora_B.weight"), r, scale);
                }
                for (int l = 0; l < _layers; l++)
                {
                    lora[l] = (Lora(l, "q_proj"), Lora(l, "v_proj"));
                }
            }
            _embed = Read("model.embed_tokens.weight", _vocab, _hidden);
            _lmHead = tied && !files.Any(f => f.Contains(prefix + "lm_head.weight")) ? _embed : Read("lm_head.weight", _vocab, _hidden);
            _finalNorm = Read("model.norm.weight", _hidden);
            _blocks = new Layer[_layers];
            for (int l = 0; l < _layers; l++)
            {
                string p = $"model.layers.{l}.";
                (ReferenceLora? Q, ReferenceLora? V) extra = lora.TryGetValue(l, out var x) ? x : (null, null);
                _blocks[l] = new Layer(
                    Read(p + "input_layernorm.weight", _hidden),
                    Read(p + "self_attn.q_proj.weight", _heads * _headDim, _hidden),
                    Read(p + "self_attn.k_proj.weight", _kvHeads * _headDim, _hidden),
                    Read(p + "self_attn.v_proj.weight", _kvHeads * _headDim, _hidden),
                    Read(p + "self_attn.o_proj.weight", _hidden, _heads * _headDim),
                    Read(p + "post_attention_layernorm.weight", _hidden),
                    Read(p + "mlp.gate_proj.weight", _ff, _hidden),
                    Read(p + "mlp.up_proj.weight", _ff, _hidden),
                    Read(p + "mlp.down_proj.weight", _hidden, _ff),
                    extra.Q, extra.V);
            }
        }
        finally
        {
            files.ForEach(f => f.Dispose());
        }
    }

    public int Hidden => _hidden;

    public int Vocab => _vocab;

    /// <summary>The embedding row of a token (as fed by HF embed_tokens).</summary>
    public float[] EmbeddingRow(int token) => _embed.AsSpan(token * _hidden, _hidden).ToArray();

    /// <summary>Logits at every position for a sequence of input embedding rows.</summary>
    public double[][] Forward(IReadOnlyList<float[]> inputs)
    {
        int n = inputs.Count;
        var h = inputs.Select(r => r.Select(v => (double)v).ToArray()).ToArray();
        foreach (var layer in _blocks)
        {
            var q = new double[n][];
            var k = new double[n][];
            var v = new double[n][];
            for (int t = 0; t < n; t++)
            {
                var x = RmsNorm(h[t], layer.InNorm);
                q[t] = MatVec(layer.Q, x, _heads * _headDim);
                k[t] = MatVec(layer.K, x, _kvHeads * _headDim);
                v[t] = MatVec(layer.V, x, _kvHeads * _headDim);
                AddLora(q[t], layer.LoraQ, x);
                AddLora(v[t], layer.LoraV, x);
                Rope(q[t], _heads, t);
                Rope(k[t], _kvHeads, t);
            }
            int group = _heads / _kvHeads;
            double scale = 1.0 / Math.Sqrt(_headDim);
            for (int t = 0; t < n; t++)
            {
                var attn = new double[_heads * _headDim];
                for (int head = 0; head < _heads; head++)
                {
                    int kvh = head / group;
                    var s = new double[t + 1];
                    double max = double.NegativeInfinity;
                    for (int u = 0; u <= t; u++)
                    {
                        double dot = 0;
                        for (int d = 0; d < _headDim; d++)
                        {
                            dot += q[t][head * _headDim + d] * k[u][kvh * _headDim + d];
                        }
                        s[u] = dot * scale;
                        max = Math.Max(max, s[u]);
                    }
                    double sum = 0;
                    for (int u = 0; u <= t; u++)
                    {
                        s[u] = Math.Exp(s[u] - max);
                        sum += s[u];
                    }
                    for (int u = 0; u <= t; u++)
                    {
                        double p = s[u] / sum;
                        for (int d = 0; d < _headDim; d++)
                        {
                            attn[head * _headDim + d] += p * v[u][kvh * _headDim + d];
                        }
                    }
                }
                var o = MatVec(layer.O, attn, _hidden);
                for (int i = 0; i < _hidden; i++)
                {
                    h[t][i] += o[i];
                }
                var x2 = RmsNorm(h[t], layer.PostNorm);
                var gate = MatVec(layer.Gate, x2, _ff);
                var up = MatVec(layer.Up, x2, _ff);
                for (int i = 0; i < _ff; i++)
                {
                    gate[i] = gate[i] / (1 + Math.Exp(-gate[i])) * up[i];
                }
                var down = MatVec(layer.Down, gate, _hidden);
                for (int i = 0; i < _hidden; i++)
                {
                    h[t][i] += down[i];
                }
            }
        }
        return h.Select(row => MatVec(_lmHead, RmsNorm(row, _finalNorm), _vocab)).ToArray();
    }

    private double[] RmsNorm(double[] x, float[] w)
    {
        double ms = x.Sum(v => v * v) / x.Length;
        double inv = 1.0 / Math.Sqrt(ms + _eps);
        return x.Select((v, i) => v * inv * w[i]).ToArray();
    }

    private static double[] MatVec(float[] w, double[] x, int rows)
    {
        int cols = x.Length;
        var y = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            double s = 0;
            int o = r * cols;
            for (int c = 0; c < cols; c++)
            {
                s += w[o + c] * x[c];
            }
            y[r] = s;
        }
        return y;
    }

    private static void AddLora(double[] y, ReferenceLora? lora, double[] x)
    {
        if (lora is null)
        {
            return;
        }
        var mid = MatVec(lora.Down, x, lora.Rank);
        var delta = MatVec(lora.Up, mid, y.Length);
        for (int i = 0; i < y.Length; i++)
        {
            y[i] += lora.Scale * delta[i];
        }
    }

    /// <summary>HF rotate_half RoPE: dimension i pairs with i + head_dim/2.</summary>
    private void Rope(double[] v, int heads, int position)
    {
        int half = _headDim / 2;
        for (int head = 0; head < heads; head++)
        {
            int b = head * _headDim;
            for (int i = 0; i < half; i++)
            {
                double angle = position * _invFreq[i];
                double cos = Math.Cos(angle), sin = Math.Sin(angle);
                double x1 = v[b + i], x2 = v[b + i + half];
                v[b + i] = x1 * cos - x2 * sin;
                v[b + i + half] = x2 * cos + x1 * sin;
            }
        }
    }
}
