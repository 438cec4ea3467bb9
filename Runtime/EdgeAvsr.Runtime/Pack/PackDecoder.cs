using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Onnx;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Runtime.Pack;

/// <summary>The llama.cpp decoder of a pack.</summary>
public sealed record PackDecoder
{
    public required string File { get; init; }

    /// <summary>The llama.cpp file type it was quantized to (<c>q4_k_m</c>, <c>q8_0</c>, <c>f32</c>, ...).</summary>
    public required string Type { get; init; }

    public required int EmbeddingDim { get; init; }

    /// <summary>LoRA inner-dimension reduction the checkpoint was trained with (merged into the weights).</summary>
    public required int LoraReduction { get; init; }

    public required double LoraAlpha { get; init; }
}
