namespace EdgeAvsr.Bench;

/// <summary>What <c>edgeavsr-bench encoders --int8</c> quantizes with: calibration media, weight bits, attention MatMuls or not, convolutions or not.</summary>
internal sealed record Int8Case(string? Calibration, int WeightBits, bool QuantizeAttention, bool Conv);
