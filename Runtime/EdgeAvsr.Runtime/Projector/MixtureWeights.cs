using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Runtime.Projector;

/// <summary>A router (<c>Linear(D, E)</c>, no bias, float32) and the experts it routes to.</summary>
public sealed class MixtureWeights
{
    public required string Name { get; init; }

    public required string RouterKey { get; init; }

    public required float[] Router { get; init; }

    public required ExpertWeights[] Experts { get; init; }

    public int ExpertCount => Experts.Length;

    public int InputDim => Experts[0].InputDim;

    public int OutputDim => Experts[0].OutputDim;

    public MixtureWeights ToInt8() => new()
    {
        Name = Name,
        RouterKey = RouterKey,
        Router = Router,
        Experts = Experts.Select(e => e.ToInt8()).ToArray(),
    };
}
