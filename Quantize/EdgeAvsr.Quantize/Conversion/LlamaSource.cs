using EdgeAvsr.Quantize.Gguf;
using EdgeAvsr.Quantize.Hf;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Formats.Gguf;

namespace EdgeAvsr.Quantize.Conversion;

/// <summary>
/// Where the converter's float32 tensors come from: config and tokenizer from the HF directory; weights
/// from it or from an AVSR checkpoint ("llm." prefix, embedding rows grown by the AVSR special tokens);
/// LoRA (PEFT or AVSR format) merged in float32; then the Q/K permutation.
/// </summary>
internal sealed class LlamaSource : IDisposable
{
    private readonly HfWeights _weights;
    private readonly LoraMerge _lora;
    private readonly Dictionary<string, int> _addedTokenIds;
    private readonly int _threads;

    private LlamaSource(
        HfLlamaConfig config, HfTokenizer tokenizer, HfWeights weights, LoraMerge lora, bool writeOutput, string name,
        Dictionary<string, int> addedTokenIds, int threads)
    {
        Config = config;
        Tokenizer = tokenizer;
        _weights = weights;
        _lora = lora;
        WriteOutput = writeOutput;
        ModelName = name;
        _addedTokenIds = addedTokenIds;
        _threads = threads;
    }

    public HfLlamaConfig Config { get; }

    public HfTokenizer Tokenizer { get; }

    public bool WriteOutput { get; }

    public string ModelName { get; }

    public IReadOnlyDictionary<string, int> AddedTokenIds => _addedTokenIds;

    public static LlamaSource Open(LlamaConversionRequest request)
    {
        string dir = request.HfDirectory;
        if (!Directory.Exists(dir))
        {
            throw new EdgeAvsrException($"{dir}: Hugging Face model directory not found");
        }
        if (request.TrainConfigPath is not null && request.CheckpointPath is null)
        {
            throw new EdgeAvsrException("--train-config goes with --checkpoint (it describes the checkpoint's LoRA)");
        }
        var config = HfLlamaConfig.Load(Path.Combine(dir, "config.json"));
        var tokenizer = HfTokenizer.Load(dir, config.VocabSize);
        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        HfWeights? weights = null;
        LoraMerge? lora = null;
        try
        {
            if (request.CheckpointPath is { } ckpt)
            {
                weights = HfWeights.OpenFile(ckpt, "llm.");
                if (!weights.Contains("model.embed_tokens.weight"))
                {
                    throw new EdgeAvsrException($"{ckpt}: 'llm.model.embed_tokens.weight' is missing; is this a Llama-AVSR checkpoint converted by " +
                        "Models/convert_avsr_checkpoint.py?");
                }
                var embed = weights.Get("model.embed_tokens.weight");
                long expectedRows = tokenizer.Tokens.Count + AvsrSpecialTokens.Table.Length;
                if (embed.Shape.Length != 2 || embed.Shape[0] != expectedRows || embed.Shape[1] != config.HiddenSize)
                {
                    throw new EdgeAvsrException($"{ckpt}: 'llm.model.embed_tokens.weight' is {embed.ShapeText}, expected [{expectedRows}, " +
                        $"{config.HiddenSize}] (the {tokenizer.Tokens.Count} base tokens + {AvsrSpecialTokens.Table.Length} AVSR special tokens)");
                }
                for (int i = 0; i < AvsrSpecialTokens.Table.Length; i++)
                {
                    added[AvsrSpecialTokens.Table[i].Text] = tokenizer.Tokens.Count + i;
                }
                tokenizer = tokenizer.WithAppendedControlTokens(AvsrSpecialTokens.Texts);
                lora = LoraMerge.OpenAvsr(weights, config, request.TrainConfigPath, request.TrainLora);
                if (request.LoraDirectory is not null && lora.Count > 0)
                {
                    throw new EdgeAvsrException($"{ckpt}: the checkpoint carries its own LoRA; --lora cannot be merged on top of it");
                }
            }
            else
            {
                weights = HfWeights.OpenDirectory(dir);
            }
            if (request.LoraDirectory is { } loraDir)
            {
                lora?.Dispose();
                lora = LoraMerge.OpenPeft(loraDir, config);
            }
            lora ??= LoraMerge.Empty();
            if (!config.TieWordEmbeddings && !weights.Contains("lm_head.weight"))
            {
                throw new EdgeAvsrException($"{weights.Description}: '{weights.Prefix}lm_head.weight' is missing and config.json does not set " +
                    "tie_word_embeddings");
            }
            string name = config.Name is { Length: > 0 } n ? Path.GetFileName(n.TrimEnd('/')) : Path.GetFileName(Path.GetFullPath(dir).TrimEnd('/'));
            return new LlamaSource(config, tokenizer, weights, lora, !config.TieWordEmbeddings, name, added, Math.Max(1, request.Threads));
        }
        catch
        {
            lora?.Dispose();
            weights?.Dispose();
            throw;
        }
    }

    /// <summary>Checks every source tensor exists with the right shape and a float dtype, before anything is written.</summary>
    public void CheckTensors(IEnumerable<PlannedTensor> plan)
    {
        foreach (var t in plan)
        {
            if (t.SourceName is null)
            {
                continue;
            }
            var st = _weights.Get(t.SourceName);
            long[] expected = t.Ne.Length == 1 ? [t.RowLength] : [t.Rows, t.RowLength];
            if (!st.Shape.AsSpan().SequenceEqual(expected))
            {
                throw new EdgeAvsrException($"{_weights.Description}: tensor '{_weights.Prefix}{t.SourceName}' has shape {st.ShapeText}, expected " +
                    $"{Runtime.Formats.TensorDTypes.FormatShape(expected)} from config.json");
            }
            if (st.DType is not (Runtime.Formats.TensorDType.F32 or Runtime.Formats.TensorDType.F16
                or Runtime.Formats.TensorDType.BF16 or Runtime.Formats.TensorDType.F64))
            {
                throw new EdgeAvsrException($"{_weights.Description}: tensor '{_weights.Prefix}{t.SourceName}' has dtype " +
                    $"{Runtime.Formats.TensorDTypes.ToSafetensorsName(st.DType)}, expected F32, F16 or BF16");
            }
        }
    }

    /// <summary>The float32 values of one planned tensor, in GGUF row order.</summary>
    public float[] Read(PlannedTensor t)
    {
        var c = Config;
        if (t.Role == TensorRole.RopeFreqs)
        {
            return LlamaTensorPlan.Llama3RopeFactors(c);
        }
        float[] w = t.Ne.Length == 1
            ? _weights.ReadFloat32(t.SourceName!, t.RowLength)
            : _weights.ReadFloat32(t.SourceName!, t.Rows, t.RowLength);
        _lora.ApplyTo(t.SourceName!, w, _threads);
        return t.Role switch
        {
            TensorRole.AttnQ => LlamaTensorPlan.PermuteRows(w, c.NumAttentionHeads, c.HeadDim, c.HiddenSize),
            TensorRole.AttnK => LlamaTensorPlan.PermuteRows(w, c.NumKeyValueHeads, c.HeadDim, c.HiddenSize),
            _ => w,
        };
    }

    public void WriteExtraMetadata(GgufWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        foreach (var (token, _, key) in AvsrSpecialTokens.Table)
        {
            if (_addedTokenIds.TryGetValue(token, out int id))
            {
                writer.SetUInt32(key, (uint)id);
            }
        }
    }

    public void Dispose()
    {
        _lora.Dispose();
        _weights.Dispose();
    }
}
