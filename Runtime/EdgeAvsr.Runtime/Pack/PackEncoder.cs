using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Encoders;
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

    /// <summary>
    /// Optional in the manifest (<c>precision</c>, default <c>fp32</c>, written only when not fp32): an <c>int8</c> encoder
    /// carries QDQ pairs and gets TensorRT's INT8 mode where TensorRT runs it.
    /// </summary>
    public EncoderPrecision Precision { get; init; } = EncoderPrecision.Fp32;

    /// <summary>Execution providers in the order to try them.</summary>
    public required IReadOnlyList<ExecutionProvider> ExecutionProviders { get; init; }
}
