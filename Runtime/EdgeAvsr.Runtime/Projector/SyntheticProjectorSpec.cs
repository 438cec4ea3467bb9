using System.Runtime.InteropServices;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Runtime.Projector;

/// <summary>Sizes of a seeded synthetic projector.</summary>
public sealed record SyntheticProjectorSpec
{
    public required SmopLayout Layout { get; init; }

    public int Experts { get; init; } = 4;

    public int AudioDim { get; init; } = 1024;

    public int VideoDim { get; init; } = 1024;

    public int HiddenDim { get; init; } = 2048;

    public int OutputDim { get; init; } = 2048;

    public bool Audio { get; init; } = true;

    public bool Video { get; init; } = true;

    public TensorDType DType { get; init; } = TensorDType.F32;

    public int Seed { get; init; } = 7;
}
