using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Runtime.Projector;

/// <summary>
/// One expert: <c>Linear(D, I) -> ReLU -> Linear(I, d) -> LayerNorm(d)</c>. Linear weights are held
/// either as float32 or as int8 with a float32 scale per output channel (never both).
/// </summary>
public sealed class ExpertWeights
{
    public required int InputDim { get; init; }

    public required int HiddenDim { get; init; }

    public required int OutputDim { get; init; }

    /// <summary>First Linear, <c>[I, D]</c> float32; null in an int8 expert.</summary>
    public float[]? Up { get; init; }

    public sbyte[]? UpInt8 { get; init; }

    public float[]? UpScale { get; init; }

    public required float[] UpBias { get; init; }

    /// <summary>Second Linear, <c>[d, I]</c> float32; null in an int8 expert.</summary>
    public float[]? Down { get; init; }

    public sbyte[]? DownInt8 { get; init; }

    public float[]? DownScale { get; init; }

    public required float[] DownBias { get; init; }

    public required float[] NormWeight { get; init; }

    public required float[] NormBias { get; init; }

    public bool IsInt8 => UpInt8 is not null;

    /// <summary>The same expert with both Linears quantized symmetrically per output channel.</summary>
    public ExpertWeights ToInt8()
    {
        if (IsInt8)
        {
            return this;
        }
        var (upQ, upS) = Int8Quantization.QuantizeRows(Up!, HiddenDim, InputDim);
        var (downQ, downS) = Int8Quantization.QuantizeRows(Down!, OutputDim, HiddenDim);
        return new ExpertWeights
        {
            InputDim = InputDim,
            HiddenDim = HiddenDim,
            OutputDim = OutputDim,
            UpInt8 = upQ,
            UpScale = upS,
            UpBias = UpBias,
            DownInt8 = downQ,
            DownScale = downS,
            DownBias = DownBias,
            NormWeight = NormWeight,
            NormBias = NormBias,
        };
    }
}
