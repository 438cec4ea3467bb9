namespace EdgeAvsr.Runtime.Formats.Gguf;

/// <summary>GGUF v3 layout rules the reader checks and the quantizer's writer follows.</summary>
public static class GgufLayout
{
    /// <summary>Alignment of the data section and of each tensor when <c>general.alignment</c> is absent.</summary>
    public const uint DefaultAlignment = 32;

    /// <summary>llama.cpp's GGML_MAX_NAME less the terminating zero.</summary>
    public const int MaxTensorNameBytes = 63;

    /// <summary><paramref name="n"/> rounded up to a multiple of <paramref name="alignment"/>.</summary>
    public static long Pad(long n, uint alignment) => (n + alignment - 1) / alignment * alignment;
}
