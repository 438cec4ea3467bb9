namespace EdgeAvsr.Runtime.Formats.Gguf;

/// <summary>The hyperparameters of a llama-architecture GGUF, after validation.</summary>
public sealed record LlamaHyperparameters(
    int BlockCount, int EmbeddingLength, int FeedForwardLength, int HeadCount, int HeadCountKv, int HeadDim,
    int ContextLength, float RmsEpsilon, float RopeFreqBase, int VocabSize, bool TiedOutput);
