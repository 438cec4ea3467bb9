using System.Runtime.InteropServices;
using EdgeAvsr.Runtime.Interop.Llama;

namespace EdgeAvsr.Runtime.Tests.Decoding;

/// <summary>
/// Every llama.h struct mirror against the offsets measured with offsetof on x86-64 for v0.5.0
/// (shared/docs/native-apis.md section 1), and the defaults read back from the shipped library.
/// </summary>
public class LlamaAbiTests
{
    private static void AssertLayout<T>(int size, params (string Field, int Offset)[] fields) where T : struct
    {
        Assert.Equal(size, Marshal.SizeOf<T>());
        Assert.Equal(size, System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
        foreach (var (field, offset) in fields)
        {
            Assert.True(offset == (int)Marshal.OffsetOf<T>(field), $"{typeof(T).Name}.{field}: offset {Marshal.OffsetOf<T>(field)}, expected {offset}");
        }
        // Every field is listed: a field added to the mirror without an expected offset fails here.
        Assert.Equal(typeof(T).GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance).Length, fields.Length);
    }

    [Fact]
    public void ModelParams_Layout() => AssertLayout<LlamaModelParams>(80,
        ("Devices", 0), ("TensorBuftOverrides", 8), ("NGpuLayers", 16), ("SplitMode", 20), ("LoadMode", 24), ("LazyMode", 28),
        ("MainGpu", 32), ("TensorSplit", 40), ("ProgressCallback", 48), ("ProgressCallbackUserData", 56), ("KvOverrides", 64),
        ("VocabOnly", 72), ("CheckTensors", 73), ("UseExtraBufts", 74), ("NoHost", 75), ("NoAlloc", 76), ("LoadMtp", 77));

    [Fact]
    public void ContextParams_Layout() => AssertLayout<LlamaContextParams>(160,
        ("NCtx", 0), ("NBatch", 4), ("NUbatch", 8), ("NSeqMax", 12), ("NRsSeq", 16), ("NOutputsMax", 20), ("NOutputsMaxPerSeq", 24),
        ("NThreads", 28), ("NThreadsBatch", 32), ("CtxType", 36), ("RopeScalingType", 40), ("PoolingType", 44), ("AttentionType", 48),
        ("FlashAttnType", 52), ("RopeFreqBase", 56), ("RopeFreqScale", 60), ("YarnExtFactor", 64), ("YarnAttnFactor", 68),
        ("YarnBetaFast", 72), ("YarnBetaSlow", 76), ("YarnOrigCtx", 80), ("DefragThold", 84), ("CbEval", 88), ("CbEvalUserData", 96),
        ("TypeK", 104), ("TypeV", 108), ("AbortCallback", 112), ("AbortCallbackData", 120), ("Embeddings", 128), ("OffloadKqv", 129),
        ("NoPerf", 130), ("OpOffload", 131), ("SwaFull", 132), ("KvUnified", 133), ("Samplers", 136), ("NSamplers", 144), ("CtxOther", 152));

    [Fact]
    public void Batch_Layout() => AssertLayout<LlamaBatchNative>(56,
        ("NTokens", 0), ("Token", 8), ("Embd", 16), ("Pos", 24), ("NSeqId", 32), ("SeqId", 40), ("Logits", 48));

    [Fact]
    public void SamplerChainParams_Layout() => AssertLayout<LlamaSamplerChainParams>(1, ("NoPerf", 0));

    [Fact]
    public unsafe void NativeDefaults_MatchTheDocumentedValues()
    {
        LlamaRuntime.Initialize();
        Assert.Null(LlamaRuntime.CheckDefaults());
        var m = LlamaApi.llama_model_default_params();
        Assert.Equal((-1, 1, -1, 1, 0), (m.NGpuLayers, m.SplitMode, m.LoadMode, m.LazyMode, m.MainGpu));
        Assert.Equal((0, 0, 0, 0, 0, 0), (m.Devices, m.TensorBuftOverrides, m.TensorSplit, m.ProgressCallback, m.ProgressCallbackUserData, m.KvOverrides));
        Assert.Equal(new byte[] { 0, 0, 1, 0, 0, 0 }, new[] { m.VocabOnly, m.CheckTensors, m.UseExtraBufts, m.NoHost, m.NoAlloc, m.LoadMtp });

        var c = LlamaApi.llama_context_default_params();
        Assert.Equal((512u, 2048u, 512u, 1u, 0u, 0u, 1u), (c.NCtx, c.NBatch, c.NUbatch, c.NSeqMax, c.NRsSeq, c.NOutputsMax, c.NOutputsMaxPerSeq));
        Assert.Equal((4, 4), (c.NThreads, c.NThreadsBatch));
        Assert.Equal((0, -1, -1, -1, -1), (c.CtxType, c.RopeScalingType, c.PoolingType, c.AttentionType, c.FlashAttnType));
        Assert.Equal((0f, 0f, -1f, -1f, -1f, -1f, 0u, -1f), (c.RopeFreqBase, c.RopeFreqScale, c.YarnExtFactor, c.YarnAttnFactor, c.YarnBetaFast, c.YarnBetaSlow, c.YarnOrigCtx, c.DefragThold));
        Assert.Equal((1, 1), (c.TypeK, c.TypeV));
        Assert.Equal(new byte[] { 0, 1, 1, 1, 1, 0 }, new[] { c.Embeddings, c.OffloadKqv, c.NoPerf, c.OpOffload, c.SwaFull, c.KvUnified });
        Assert.Equal((0, 0, 0, 0, 0, (nuint)0, 0), (c.CbEval, c.CbEvalUserData, c.AbortCallback, c.AbortCallbackData, c.Samplers, c.NSamplers, c.CtxOther));

        Assert.Equal(1, LlamaApi.llama_sampler_chain_default_params().NoPerf);
    }

    [Fact]
    public unsafe void BatchInit_AllocatesTheRequestedArrays()
    {
        using var tokens = LlamaBatch.ForTokens(7, 3);
        Assert.True(tokens.Native.Token is not null && tokens.Native.Embd is null);
        using var embd = LlamaBatch.ForEmbeddings(5, 16);
        Assert.True(embd.Native.Token is null && embd.Native.Embd is not null);
        embd.AddEmbedding(Enumerable.Range(0, 16).Select(i => (float)i).ToArray(), 4, 0, output: true);
        Assert.Equal(1, embd.Count);
        Assert.Equal(15f, embd.Native.Embd[15]);
        Assert.Equal(4, embd.Native.Pos[0]);
        Assert.Throws<ArgumentException>(() => embd.AddEmbedding(new float[3], 5, 0, false));
        Assert.Throws<InvalidOperationException>(() => embd.AddToken(1, 5, 0, false));
    }

    [Fact]
    public void Backend_CudaRequestedWithoutGpu_IsAnError_AutoReportsCpu()
    {
        LlamaRuntime.Initialize();
        var devices = LlamaRuntime.Devices();
        Assert.NotEmpty(devices);
        if (devices.Any(d => d.Type is 1 or 2))
        {
            return; // a CUDA machine: the error path cannot be shown here
        }
        var e = Assert.Throws<EdgeAvsrException>(() => LlamaRuntime.ChooseBackend(LlamaBackendKind.Cuda));
        Assert.Contains("CUDA was requested", e.Message, StringComparison.Ordinal);
        var auto = LlamaRuntime.ChooseBackend(LlamaBackendKind.Auto);
        Assert.Equal("CPU", auto.Kind);
        Assert.Contains("no GPU device", auto.Reason, StringComparison.Ordinal);
        Assert.Contains("CPU", string.Join(" ", auto.Devices), StringComparison.Ordinal);
    }
}

[Collection("console")]
public class LlamaLogTests
{
    [Fact]
    public void Log_FiltersByLevel_ContinuesFragments_KeepsProblems()
    {
        var sink = new StringWriter();
        var oldSink = LlamaLog.Sink;
        var oldLevel = LlamaLog.MinimumLevel;
        try
        {
            LlamaLog.Sink = sink;
            LlamaLog.MinimumLevel = LlamaLogLevel.Warn;
            LlamaLog.ClearRecent();
            LlamaLog.Receive(2, "loading tensors");
            LlamaLog.Receive(5, "...\n");
            LlamaLog.Receive(3, "careful: ");
            LlamaLog.Receive(5, "something\n");
            LlamaLog.Receive(4, "bad magic\n");
            Assert.Equal("careful: something\nbad magic\n", sink.ToString());
            Assert.Equal("careful: something; bad magic", LlamaLog.RecentProblems());
            LlamaLog.MinimumLevel = LlamaLogLevel.None;
            LlamaLog.Receive(4, "quiet\n");
            Assert.DoesNotContain("quiet", sink.ToString(), StringComparison.Ordinal);
            Assert.Equal(LlamaLogLevel.Info, LlamaLog.ParseLevel("info"));
            Assert.Equal(LlamaLogLevel.None, LlamaLog.ParseLevel(null));
        }
        finally
        {
            LlamaLog.Sink = oldSink;
            LlamaLog.MinimumLevel = oldLevel;
            LlamaLog.ClearRecent();
        }
    }
}
