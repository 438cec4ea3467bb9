namespace EdgeAvsr.Synthetic;

/// <summary>Shape and seed of a generated test model.</summary>
public sealed record TinyLlamaSpec
{
    public int Seed { get; init; } = 1234;
    public int HiddenSize { get; init; } = 256;
    public int Layers { get; init; } = 2;
    public int Heads { get; init; } = 4;
    public int KvHeads { get; init; } = 2;
    public int IntermediateSize { get; init; } = 512;
    public int MaxPositionEmbeddings { get; init; } = 2048;
    public double RopeTheta { get; init; } = 500000.0;
    public double RmsNormEps { get; init; } = 1e-5;
    public bool TieWordEmbeddings { get; init; } = true;

    /// <summary>Adds Llama-3's rope_scaling {"rope_type": "llama3", ...} to config.json.</summary>
    public bool Llama3RopeScaling { get; init; }

    /// <summary>Merges learned from the seeded corpus (the vocabulary is 256 bytes + merges + specials).</summary>
    public int Merges { get; init; } = 300;

    /// <summary>Standard deviation of the weights relative to 1/sqrt(row length).</summary>
    public double WeightScale { get; init; } = 1.0;

    /// <summary>Store weights as BF16 (like real checkpoints) instead of F32.</summary>
    public bool Bf16 { get; init; }

    /// <summary>Split the weights over two shards with model.safetensors.index.json.</summary>
    public bool Sharded { get; init; }

    /// <summary>config.json vocab_size; when larger than the learned tokenizer, the rest are unused [PAD] rows (as in padded real vocabularies).</summary>
    public int? VocabSize { get; init; }

    /// <summary>
    /// Regular (non-special) tokens of the tokenizer: after the 256 bytes and the merges learned from the corpus,
    /// seeded synthetic merges of letter tokens fill the vocabulary up to this many (Llama 3: 128000). Null: learned only.
    /// </summary>
    public int? RegularTokens { get; init; }

    /// <summary>Special tokens after the regular ones: the six Llama-3 names, then <c>&lt;|reserved_special_token_N|&gt;</c> (Llama 3: 256).</summary>
    public int SpecialTokenCount { get; init; } = 6;

    public int HeadDim => HiddenSize / Heads;

    public int KvWidth => KvHeads * HeadDim;
}
