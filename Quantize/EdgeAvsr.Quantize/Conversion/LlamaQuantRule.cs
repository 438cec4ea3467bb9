using EdgeAvsr.Quantize.Hf;
using EdgeAvsr.Runtime.Formats.Gguf;

namespace EdgeAvsr.Quantize.Conversion;

/// <summary>The ggml type of each tensor for a requested file type.</summary>
public static class LlamaQuantRule
{
    public static GgmlType TypeFor(PlannedTensor t, LlamaFileType fileType, HfLlamaConfig config, bool hasOutput)
    {
        ArgumentNullException.ThrowIfNull(t);
        if (t.Ne.Length == 1)
        {
            return GgmlType.F32;
        }
        return fileType switch
        {
            LlamaFileType.F32 => GgmlType.F32,
            LlamaFileType.F16 => GgmlType.F16,
            _ => throw new ArgumentOutOfRangeException(nameof(fileType), $"{fileType} is not supported yet"),
        };
    }
}
