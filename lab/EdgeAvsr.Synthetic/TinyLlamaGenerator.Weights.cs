using System.Text.Json;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Synthetic;

/// <summary>The weights: tensor names and shapes, the Llama-3.2-1B and SmolLM shaped specs, seeded values, safetensors shards.</summary>
public static partial class TinyLlamaGenerator
{
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
}
