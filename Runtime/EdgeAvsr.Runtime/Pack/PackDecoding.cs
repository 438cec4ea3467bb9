using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Onnx;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Runtime.Pack;

/// <summary>Decoding defaults.</summary>
public sealed record PackDecoding
{
    public required int Beams { get; init; }

    public required int MaxNewTokens { get; init; }
}
