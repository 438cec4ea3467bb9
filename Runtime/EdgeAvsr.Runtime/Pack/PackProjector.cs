using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Onnx;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Runtime.Pack;

/// <summary>The Sparse Mixture of Projectors of a pack.</summary>
public sealed record PackProjector
{
    public required string File { get; init; }

    public required ProjectorPrecision Precision { get; init; }

    public required SmopLayout Layout { get; init; }

    public required int Experts { get; init; }

    /// <summary>top_k, audio_pool and video_pool, checked against <see cref="Experts"/> when read.</summary>
    public required RoutingSettings Routing { get; init; }

    /// <summary>Input width of the audio experts; null when the projector has no audio mixture.</summary>
    public int? AudioInputDim { get; init; }

    public int? VideoInputDim { get; init; }

    public required int HiddenDim { get; init; }

    /// <summary>d_llm: the width of the tokens the projector writes.</summary>
    public required int OutputDim { get; init; }

    /// <summary>Where the projector runs by default (optional key <c>projector.device</c>; absent means cpu).</summary>
    public ProjectorDevice Device { get; init; } = ProjectorDevice.Cpu;

    public int? InputDim(Modality modality) => modality == Modality.Audio ? AudioInputDim : VideoInputDim;
}
