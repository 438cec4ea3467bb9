using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Onnx;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Runtime.Pack;

/// <summary>One ONNX encoder of a pack: its file, the tensor names it exchanges, its width and where it should run.</summary>
public sealed record PackEncoder
{
    /// <summary>File name relative to the pack folder.</summary>
    public required string File { get; init; }

    public required string InputName { get; init; }

    public required string OutputName { get; init; }

    /// <summary>D: the width of each output state (the last dimension of the encoder output).</summary>
    public required int OutputDim { get; init; }

    /// <summary>Execution providers in the order to try them.</summary>
    public required IReadOnlyList<ExecutionProvider> ExecutionProviders { get; init; }
}
