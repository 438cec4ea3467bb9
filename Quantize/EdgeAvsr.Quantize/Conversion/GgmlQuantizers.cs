using EdgeAvsr.Runtime.Formats.Gguf;

namespace EdgeAvsr.Quantize.Conversion;

/// <summary>ggml's reference block quantizers (quantize_row_*_ref), bit-exact.</summary>
public static partial class GgmlQuantizers
{
    public static void Quantize(GgmlType type, ReadOnlySpan<float> src, Span<byte> dst)
    {
        throw new ArgumentOutOfRangeException(nameof(type), $"quantization to {GgmlTypes.Name(type)} is not supported");
    }
}
