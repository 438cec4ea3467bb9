using System.Runtime.InteropServices;
using EdgeAvsr.Runtime.Interop.Llama;

namespace EdgeAvsr.Quantize.Tests;

public sealed class NativeAbiTests
{
    [Fact]
    public void Quantize_params_layout_and_native_defaults_match_llama_cpp_v0_5_0()
    {
        Assert.Equal(64, Marshal.SizeOf<LlamaModelQuantizeParams>());
        Assert.Equal(4, (int)Marshal.OffsetOf<LlamaModelQuantizeParams>(nameof(LlamaModelQuantizeParams.FType)));
        Assert.Equal(8, (int)Marshal.OffsetOf<LlamaModelQuantizeParams>(nameof(LlamaModelQuantizeParams.OutputTensorType)));
        Assert.Equal(16, (int)Marshal.OffsetOf<LlamaModelQuantizeParams>(nameof(LlamaModelQuantizeParams.AllowRequantize)));
        Assert.Equal(21, (int)Marshal.OffsetOf<LlamaModelQuantizeParams>(nameof(LlamaModelQuantizeParams.DryRun)));
        Assert.Equal(24, (int)Marshal.OffsetOf<LlamaModelQuantizeParams>(nameof(LlamaModelQuantizeParams.Imatrix)));
        Assert.Equal(56, (int)Marshal.OffsetOf<LlamaModelQuantizeParams>(nameof(LlamaModelQuantizeParams.MaxBufSize)));
        var d = LlamaModelQuantizer.DefaultParams();
        Assert.Equal(0, d.NThread);
        Assert.Equal(7, d.FType);
        Assert.Equal(43, d.OutputTensorType);
        Assert.Equal(43, d.TokenEmbeddingType);
        Assert.Equal(1, d.QuantizeOutputTensor);
        Assert.Equal(0, d.Pure);
        Assert.Equal(8UL << 30, (ulong)d.MaxBufSize);
        Assert.Equal(80, Marshal.SizeOf<LlamaModelParams>());
        Assert.Equal(72, (int)Marshal.OffsetOf<LlamaModelParams>(nameof(LlamaModelParams.VocabOnly)));
    }
}
