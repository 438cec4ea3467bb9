namespace EdgeAvsr.Runtime.Decoding;

/// <summary>A run of prompt positions: token ids, or embedding rows fed to llama.cpp as an embedding batch.</summary>
public sealed class PromptSegment
{
    private PromptSegment(int[]? tokens, FloatMatrix? embeddings)
    {
        Tokens = tokens;
        Embeddings = embeddings;
    }

    public int[]? Tokens { get; }

    public FloatMatrix? Embeddings { get; }

    public int Length => Tokens?.Length ?? Embeddings!.Rows;

    public static PromptSegment FromTokens(params int[] tokens) => new(tokens ?? throw new ArgumentNullException(nameof(tokens)), null);

    public static PromptSegment FromEmbeddings(FloatMatrix rows) => new(null, rows ?? throw new ArgumentNullException(nameof(rows)));
}
