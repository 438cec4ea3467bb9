using EdgeAvsr.Quantize.Gguf;
using EdgeAvsr.Quantize.Hf;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Formats.Gguf;

namespace EdgeAvsr.Quantize.Conversion;

/// <summary>The output types of <c>edgeavsr-quantize llm --type</c> (llama.cpp's llama_ftype names).</summary>
public enum LlamaFileType
{
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q8_0 = 7,
    Q4_K_M = 15,
    Q5_K_M = 17,
    Q6_K = 18,
}

public static class LlamaFileTypes
{
    public static LlamaFileType Parse(string text, string option) => text.ToLowerInvariant() switch
    {
        "f32" => LlamaFileType.F32,
        "f16" => LlamaFileType.F16,
        "q8_0" => LlamaFileType.Q8_0,
        "q4_0" => LlamaFileType.Q4_0,
        "q4_k_m" => LlamaFileType.Q4_K_M,
        "q5_k_m" => LlamaFileType.Q5_K_M,
        "q6_k" => LlamaFileType.Q6_K,
        _ => throw new EdgeAvsrException($"{option} '{text}' is not one of f32, f16, q8_0, q4_0, q4_k_m, q5_k_m, q6_k"),
    };
}

/// <summary>Progress of a conversion: tensors and bytes written so far.</summary>
public readonly record struct ConversionProgress(int TensorsDone, int TensorCount, long BytesDone, long TotalBytes, string Current);

/// <summary>What <c>edgeavsr-quantize llm</c> was asked to do.</summary>
public sealed record LlamaConversionRequest(string HfDirectory, string OutputPath, LlamaFileType Type)
{
    /// <summary>A PEFT LoRA directory (adapter_model.safetensors + adapter_config.json) to merge.</summary>
    public string? LoraDirectory { get; init; }

    /// <summary>An AVSR checkpoint converted to safetensors (weights under "llm.").</summary>
    public string? CheckpointPath { get; init; }

    /// <summary>The training-arguments JSON that goes with <see cref="CheckpointPath"/>.</summary>
    public string? TrainConfigPath { get; init; }

    /// <summary>The LoRA reduction factor and alpha when the caller has already read <see cref="TrainConfigPath"/> (null: read from it).</summary>
    public (int Reduction, double Alpha)? TrainLora { get; init; }

    public int Threads { get; init; } = Environment.ProcessorCount;
}

/// <summary>The written file, its embedding width (llama.embedding_length) and the ids of the tokens added to the vocabulary, by text.</summary>
public sealed record LlamaConversionResult(
    string OutputPath, int TensorCount, long FileBytes, int EmbeddingLength, IReadOnlyDictionary<string, int> AddedTokenIds);

/// <summary>
/// Hugging Face Llama directory (+ LoRA or AVSR checkpoint) to a GGUF for llama.cpp's "llama" architecture.
/// Tensors are read, merged, permuted and encoded one at a time; the output is written through a temp file.
/// </summary>
public static class LlamaGgufConverter
{
    public static LlamaConversionResult Convert(LlamaConversionRequest request, IProgress<ConversionProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var source = LlamaSource.Open(request);
        var c = source.Config;
        var tok = source.Tokenizer;
        int vocabRows = tok.Tokens.Count;
        var plan = LlamaTensorPlan.Create(c, vocabRows, source.WriteOutput);
        source.CheckTensors(plan);
        var types = LlamaQuantRule.Assign(plan, request.Type, c);

        var writer = new GgufWriter();
        WriteMetadata(writer, c, tok, request.Type, source);
        for (int i = 0; i < plan.Count; i++)
        {
            writer.AddTensor(plan[i].Name, types[i], plan[i].Ne);
        }
        GgmlEncoder.WriteTensors(writer, request.OutputPath, i => source.Read(plan[i]), Math.Max(1, request.Threads), progress);
        return new LlamaConversionResult(request.OutputPath, plan.Count, new FileInfo(request.OutputPath).Length, c.HiddenSize, source.AddedTokenIds);
    }

    private static void WriteMetadata(GgufWriter w, HfLlamaConfig c, HfTokenizer tok, LlamaFileType type, LlamaSource source)
    {
        w.SetString("general.architecture", "llama");
        w.SetString("general.type", "model");
        w.SetString("general.name", source.ModelName);
        w.SetUInt32("llama.block_count", (uint)c.NumHiddenLayers);
        w.SetUInt32("llama.context_length", (uint)c.MaxPositionEmbeddings);
        w.SetUInt32("llama.embedding_length", (uint)c.HiddenSize);
        w.SetUInt32("llama.feed_forward_length", (uint)c.IntermediateSize);
        w.SetUInt32("llama.attention.head_count", (uint)c.NumAttentionHeads);
        w.SetUInt32("llama.attention.head_count_kv", (uint)c.NumKeyValueHeads);
        w.SetFloat32("llama.rope.freq_base", (float)c.RopeTheta);
        w.SetFloat32("llama.attention.layer_norm_rms_epsilon", (float)c.RmsNormEps);
        w.SetUInt32("llama.attention.key_length", (uint)c.HeadDim);
        w.SetUInt32("llama.attention.value_length", (uint)c.HeadDim);
        w.SetUInt32("general.file_type", (uint)type);
        w.SetUInt32("llama.vocab_size", (uint)tok.Tokens.Count);
        w.SetUInt32("llama.rope.dimension_count", (uint)c.HeadDim);
        w.SetUInt32("general.quantization_version", 2);
        w.SetString("tokenizer.ggml.model", "gpt2");
        w.SetString("tokenizer.ggml.pre", "llama-bpe");
        w.Set("tokenizer.ggml.tokens", GgufValue.FromStrings(tok.Tokens));
        w.Set("tokenizer.ggml.token_type", GgufValue.FromInt32s(tok.TokenTypes.Select(t => (int)t)));
        w.Set("tokenizer.ggml.merges", GgufValue.FromStrings(tok.Merges));
        w.SetUInt32("tokenizer.ggml.bos_token_id", (uint)tok.BosTokenId);
        w.SetUInt32("tokenizer.ggml.eos_token_id", (uint)tok.EosTokenId);
        w.SetBool("tokenizer.ggml.add_bos_token", tok.AddBos);
        w.SetBool("tokenizer.ggml.add_eos_token", tok.AddEos);
        if (tok.ChatTemplate is { } template)
        {
            w.SetString("tokenizer.chat_template", template);
        }
        source.WriteExtraMetadata(w);
    }

    /// <summary>Formats byte counts for progress output.</summary>
    public static string FormatBytes(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):F2} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):F1} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:F1} KiB",
        _ => $"{bytes} B",
    };
}
