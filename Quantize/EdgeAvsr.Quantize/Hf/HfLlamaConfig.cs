using System.Text.Json;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Formats;

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
        using var json = CheckedJson.Read(path, lenient: true);
        var root = json.Root;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new EdgeAvsrException($"{path}: expected a JSON object");
        }
        string? modelType = json.OptionalString(root, "model_type");
        var archs = CheckedJson.Find(root, "architectures");
        string? arch = archs is { ValueKind: JsonValueKind.Array } a && a.GetArrayLength() > 0 ? a[0].GetString() : null;
        if (modelType != "llama" || (arch is not null && arch != "LlamaForCausalLM"))
        {
            throw new EdgeAvsrException(
                $"{path}: unsupported architecture (model_type '{modelType}', architectures [{arch}]); expected model_type 'llama' / LlamaForCausalLM");
        }
        int hidden = json.Int(root, "hidden_size", min: 1);
        int heads = json.Int(root, "num_attention_heads", min: 1);
        int kvHeads = json.OptionalInt(root, "num_key_value_heads", min: 1) ?? heads;
        int headDim = json.OptionalInt(root, "head_dim", min: 1) ?? (hidden % heads == 0
            ? hidden / heads
            : throw new EdgeAvsrException($"{path}: hidden_size {hidden} is not divisible by num_attention_heads {heads}"));
        if (heads % kvHeads != 0)
        {
            throw new EdgeAvsrException($"{path}: num_attention_heads {heads} is not a multiple of num_key_value_heads {kvHeads}");
        }
        if (headDim % 2 != 0)
        {
            throw new EdgeAvsrException($"{path}: head dimension {headDim} must be even for rotary embeddings");
        }
        if (json.OptionalString(root, "hidden_act") is { } act && act != "silu")
        {
            throw new EdgeAvsrException($"{path}: hidden_act '{act}' is not supported; llama uses silu");
        }
        if (json.OptionalBool(root, "attention_bias") == true || json.OptionalBool(root, "mlp_bias") == true)
        {
            throw new EdgeAvsrException($"{path}: attention_bias / mlp_bias are not supported");
        }
        Llama3RopeScaling? scaling = null;
        if (CheckedJson.Find(root, "rope_scaling") is { } rs)
        {
            string? type = json.OptionalString(rs, "rope_type") ?? json.OptionalString(rs, "type");
            if (type != "llama3")
            {
                throw new EdgeAvsrException($"{path}: rope_scaling type '{type}' is not supported (only 'llama3' or none)");
            }
            scaling = new Llama3RopeScaling(
                json.Number(rs, "rope_scaling.factor"),
                json.Number(rs, "rope_scaling.low_freq_factor"),
                json.Number(rs, "rope_scaling.high_freq_factor"),
                json.Int(rs, "rope_scaling.original_max_position_embeddings", min: 1));
        }
        int[] eos = CheckedJson.Find(root, "eos_token_id") switch
        {
            null => [],
            { ValueKind: JsonValueKind.Array } arr => arr.EnumerateArray().Select(e => json.IntValue(e, "eos_token_id[]", min: 0)).ToArray(),
            var e => [json.IntValue(e.Value, "eos_token_id", min: 0)],
        };
        return new HfLlamaConfig(
            hidden,
            json.Int(root, "intermediate_size", min: 1),
            json.Int(root, "num_hidden_layers", min: 1),
            heads, kvHeads, headDim,
            json.Number(root, "rms_norm_eps"),
            json.OptionalNumber(root, "rope_theta") ?? 10000.0,
            json.Int(root, "max_position_embeddings", min: 1),
            json.Int(root, "vocab_size", min: 1),
            json.OptionalBool(root, "tie_word_embeddings") ?? false,
            scaling,
            json.OptionalInt(root, "bos_token_id", min: 0),
            eos,
            json.OptionalString(root, "_name_or_path"));
    }
}
