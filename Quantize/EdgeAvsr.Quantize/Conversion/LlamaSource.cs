using EdgeAvsr.Quantize.Hf;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Formats.Gguf;

namespace EdgeAvsr.Quantize.Conversion;

/// <summary>
/// Where the converter's float32 tensors come from: the HF directory's config and tokenizer, its weights
/// (or an AVSR checkpoint's), with LoRA deltas merged and the Q/K permutation applied.
/// </summary>
internal sealed class LlamaSource : IDisposable
{
    private readonly HfWeights _weights;
    private readonly Dictionary<string, int> _addedTokenIds;

    private LlamaSource(HfLlamaConfig config, HfTokenizer tokenizer, HfWeights weights, bool writeOutput, string name, Dictionary<string, int> addedTokenIds)
    {
        Config = config;
        Tokenizer = tokenizer;
        _weights = weights;
        WriteOutput = writeOutput;
        ModelName = name;
        _addedTokenIds = addedTokenIds;
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
        var config = HfLlamaConfig.Load(Path.Combine(dir, "config.json"));
        var tokenizer = HfTokenizer.Load(dir, config.VocabSize);
        var weights = HfWeights.OpenDirectory(dir);
        try
        {
            bool hasHead = weights.Contains("lm_head.weight");
            if (!config.TieWordEmbeddings && !hasHead)
            {
                throw new EdgeAvsrException($"{weights.Description}: 'lm_head.weight' is missing and config.json does not set tie_word_embeddings");
            }
            string name = config.Name is { Length: > 0 } n ? Path.GetFileName(n.TrimEnd('/')) : Path.GetFileName(Path.GetFullPath(dir).TrimEnd('/'));
            return new LlamaSource(config, tokenizer, weights, !config.TieWordEmbeddings, name, new Dictionary<string, int>(StringComparer.Ordinal));
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }

    /// <summary>The float32 values of one planned tensor, in GGUF row order.</summary>
    public float[] Read(PlannedTensor t)
    {
        var c = Config;
        switch (t.Role)
        {
            case TensorRole.RopeFreqs:
                return LlamaTensorPlan.Llama3RopeFactors(c);
            case TensorRole.TokenEmbedding:
            case TensorRole.Output:
                return _weights.ReadFloat32(t.SourceName!, t.Rows, t.RowLength);
            case TensorRole.AttnQ:
                return LlamaTensorPlan.PermuteRows(_weights.ReadFloat32(t.SourceName!, t.Rows, t.RowLength), c.NumAttentionHeads, c.HeadDim, c.HiddenSize);
            case TensorRole.AttnK:
                return LlamaTensorPlan.PermuteRows(_weights.ReadFloat32(t.SourceName!, t.Rows, t.RowLength), c.NumKeyValueHeads, c.HeadDim, c.HiddenSize);
            default:
                return t.Ne.Length == 1
                    ? _weights.ReadFloat32(t.SourceName!, t.RowLength)
                    : _weights.ReadFloat32(t.SourceName!, t.Rows, t.RowLength);
        }
    }

    public void WriteExtraMetadata(GgufWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
    }

    public void Dispose() => _weights.Dispose();
}
