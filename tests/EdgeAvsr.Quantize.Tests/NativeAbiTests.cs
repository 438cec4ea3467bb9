using System.Runtime.InteropServices;
using EdgeAvsr.Runtime.Decoding;
using LLama.Native;

namespace EdgeAvsr.Quantize.Tests;

/// <summary>
/// LLamaSharp's mirror of <c>llama_model_quantize_params</c> against the pinned libllama (b10221): its size and the
/// native defaults read back through it (a shifted field would read a neighbour's value).
/// </summary>
public sealed class NativeAbiTests
{
    [Fact]
    public void QuantizeParams_NativeDefaults_ReadBackThroughLLamaSharp_MatchLlamaCpp()
    {
        LlamaEngine.Initialize();
        Assert.Equal(56, Marshal.SizeOf<LLamaModelQuantizeParams>());
        Assert.Equal(24, (int)Marshal.OffsetOf<LLamaModelQuantizeParams>(nameof(LLamaModelQuantizeParams.imatrix)));
        var d = LLamaModelQuantizeParams.Default();
        Assert.Equal(0, d.nthread);
        Assert.Equal(LLamaFtype.MOSTLY_Q8_0, d.ftype);
        // GGML_TYPE_COUNT (no override) for both tensor types in this ggml.
        Assert.Equal(43, (int)d.output_tensor_type);
        Assert.Equal(43, (int)d.token_embedding_type);
        Assert.False(d.allow_requantize);
        Assert.True(d.quantize_output_tensor);
        Assert.False(d.only_copy);
        Assert.False(d.pure);
        Assert.False(d.keep_split);
        Assert.Equal(IntPtr.Zero, d.imatrix);
        Assert.Equal(IntPtr.Zero, d.prune_layers);
    }
}
