using System.Text.Json;
using EdgeAvsr.Runtime;

namespace EdgeAvsr.Quantize.Hf;

/// <summary>Llama-3 "rope_type": "llama3" frequency scaling from config.json's rope_scaling.</summary>
public sealed record Llama3RopeScaling(double Factor, double LowFreqFactor, double HighFreqFactor, int OriginalMaxPositionEmbeddings);

/// <summary>The parts of a Hugging Face Llama config.json the GGUF conversion needs.</summary>
public sealed record HfLlamaConfig(
    int HiddenSize, int IntermediateSize, int NumHiddenLayers, int NumAttentionHeads, int NumKeyValueHeads, int HeadDim,
    double RmsNormEps, double RopeTheta, int MaxPositionEmbeddings, int VocabSize, bool TieWordEmbeddings,
    Llama3RopeScaling? RopeScaling, int? BosTokenId, int[] EosTokenIds, string? Name)
{
    public int QWidth => NumAttentionHeads * HeadDim;

    public int KvWidth => NumKeyValueHeads * HeadDim;

    public static HfLlamaConfig Load(string path)
    {
        using var doc = JsonFile.Load(path);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new EdgeAvsrException($"{path}: expected a JSON object");
        }
        string? modelType = JsonFile.OptionalString(path, root, "model_type");
        var archs = JsonFile.Find(root, "architectures");
        string? arch = archs is { ValueKind: JsonValueKind.Array } a && a.GetArrayLength() > 0 ? a[0].GetString() : null;
        if (modelType != "llama" || (arch is not null && arch != "LlamaForCausalLM"))
        {
            throw new EdgeAvsrException($"{path}: unsupported architecture (model_type '{modelType}', architectures [{arch}]); expected model_type 'llama' / LlamaForCausalLM");
        }
        int hidden = JsonFile.RequireInt(path, root, "hidden_size");
        int heads = JsonFile.RequireInt(path, root, "num_attention_heads");
        int kvHeads = JsonFile.OptionalInt(path, root, "num_key_value_heads", 1) ?? heads;
        int headDim = JsonFile.OptionalInt(path, root, "head_dim", 1) ?? (hidden % heads == 0 ? hidden / heads : throw new EdgeAvsrException($"{path}: hidden_size {hidden} is not divisible by num_attention_heads {heads}"));
        if (heads % kvHeads != 0)
        {
            throw new EdgeAvsrException($"{path}: num_attention_heads {heads} is not a multiple of num_key_value_heads {kvHeads}");
        }
        if (headDim % 2 != 0)
        {
            throw new EdgeAvsrException($"{path}: head dimension {headDim} must be even for rotary embeddings");
        }
        if (JsonFile.OptionalString(path, root, "hidden_act") is { } act && act != "silu")
        {
            throw new EdgeAvsrException($"{path}: hidden_act '{act}' is not supported; llama uses silu");
        }
        if (JsonFile.OptionalBool(path, root, "attention_bias") == true || JsonFile.OptionalBool(path, root, "mlp_bias") == true)
        {
            throw new EdgeAvsrException($"{path}: attention_bias / mlp_bias are not supported");
        }
        Llama3RopeScaling? scaling = null;
        if (JsonFile.Find(root, "rope_scaling") is { } rs)
        {
            string? type = JsonFile.OptionalString(path, rs, "rope_type") ?? JsonFile.OptionalString(path, rs, "type");
            if (type != "llama3")
            {
                throw new EdgeAvsrException($"{path}: rope_scaling type '{type}' is not supported (only 'llama3' or none)");
            }
            scaling = new Llama3RopeScaling(
                JsonFile.RequireNumber(path, rs, "factor"),
                JsonFile.RequireNumber(path, rs, "low_freq_factor"),
                JsonFile.RequireNumber(path, rs, "high_freq_factor"),
                JsonFile.RequireInt(path, rs, "original_max_position_embeddings"));
        }
        int[] eos = JsonFile.Find(root, "eos_token_id") switch
        {
            null => [],
            { ValueKind: JsonValueKind.Array } arr => arr.EnumerateArray().Select(e => e.GetInt32()).ToArray(),
            var e => [e.Value.GetInt32()],
        };
        return new HfLlamaConfig(
            hidden,
            JsonFile.RequireInt(path, root, "intermediate_size"),
            JsonFile.RequireInt(path, root, "num_hidden_layers"),
            heads, kvHeads, headDim,
            JsonFile.RequireNumber(path, root, "rms_norm_eps"),
            JsonFile.OptionalNumber(path, root, "rope_theta") ?? 10000.0,
            JsonFile.RequireInt(path, root, "max_position_embeddings"),
            JsonFile.RequireInt(path, root, "vocab_size"),
            JsonFile.OptionalBool(path, root, "tie_word_embeddings") ?? false,
            scaling,
            JsonFile.OptionalInt(path, root, "bos_token_id"),
            eos,
            JsonFile.OptionalString(path, root, "_name_or_path"));
    }
}
