using System.Reflection;
using System.Runtime.InteropServices;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Interop;
using LLama.Native;

namespace EdgeAvsr.Runtime.Tests.Decoding;

/// <summary>
/// libllama as LLamaSharp loads it: the pinned commit, the package's CPU variant for this machine, the files reported,
/// the device choice, and that no binding of our own into libllama is left.
/// </summary>
public class LlamaEngineTests
{
    [Fact]
    public void LoadedGgmlCommit_EqualsThePin()
    {
        var info = NativeEngines.InitializeLlama();
        var pin = LlamaPin.Read();
        // The embedded pin is the repository's native/llama.cpp.pin (the one place the device image reads too).
        Assert.Equal(LlamaPin.Parse(File.ReadAllText(Path.Combine(Tools.RepoRoot, "native", "llama.cpp.pin"))), pin);
        Assert.Equal("b10221", pin.Release);
        Assert.Equal("815a2a5915f22ce6a760c676389c5dfe8535c08f", pin.Commit);
        string commit = NativeEngines.Llama.GgmlCommit;
        Assert.True(commit.Length >= 7, $"ggml commit '{commit}'");
        Assert.StartsWith(commit, pin.Commit, StringComparison.Ordinal);
        Assert.Contains(info.Details, d => d.StartsWith($"llama.cpp commit: {commit}", StringComparison.Ordinal));
        Assert.Contains(info.Details, d => d.StartsWith($"LLamaSharp {LlamaPin.PackageVersion}", StringComparison.Ordinal));
        Assert.Equal("0.30.0", LlamaPin.PackageVersion);
    }

    [Fact]
    public void Pin_RejectsOtherCommits()
    {
        var pin = new LlamaPin("b10221", "815a2a5915f22ce6a760c676389c5dfe8535c08f");
        Assert.True(pin.Matches("815a2a591"));
        Assert.False(pin.Matches("815a2a"));
        Assert.False(pin.Matches("c0c7e147e"));
        Assert.False(pin.Matches(""));
        Assert.Throws<EdgeAvsrException>(() => LlamaPin.Parse("release=b1\ncommit=815a2a59\n"));
    }

    [Fact]
    public void PackageLibrary_IsTheCpuVariantForThisMachine_AndItsFilesAreReported()
    {
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(NativeEngines.DirectoryVariable))
            && File.Exists(Path.Combine(Environment.GetEnvironmentVariable(NativeEngines.DirectoryVariable)!, NativeEngines.LlamaFile)))
        {
            return; // a custom libllama is loaded from $EDGEAVSR_NATIVE_DIR: no package variant to check (xunit 2 has no dynamic skip)
        }
        var info = NativeEngines.InitializeLlama();
        // Independent of LLamaSharp's detection: the kernel's CPU flags.
        var flags = File.ReadLines("/proc/cpuinfo").First(l => l.StartsWith("flags", StringComparison.Ordinal)).Split(' ');
        string expected = !RuntimeInformation.ProcessArchitecture.Equals(Architecture.X64) ? "native"
            : flags.Contains("avx512f") ? "avx512" : flags.Contains("avx2") ? "avx2" : flags.Contains("avx") ? "avx" : "noavx";
        Assert.Equal(expected, NativeEngines.Llama.CpuVariant);
        Assert.Contains($"ggml CPU variant: {expected}", info.Details);
        foreach (string name in new[] { "libllama.so", "libggml.so", "libggml-base.so", "libggml-cpu.so" })
        {
            string file = Assert.Single(info.Files, f => Path.GetFileName(f) == name);
            Assert.True(Path.IsPathFullyQualified(file) && File.Exists(file), file);
            Assert.Contains(Path.Combine("runtimes", RuntimeInformation.RuntimeIdentifier, "native"), file, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Backend_CudaRequestedWithoutGpu_IsAnError_AutoReportsCpu()
    {
        var devices = LlamaEngine.Devices();
        Assert.Contains(devices, d => d.StartsWith("CPU", StringComparison.Ordinal));
        if (NativeApi.llama_supports_gpu_offload())
        {
            return; // a GPU device is registered: the error path cannot be shown here (xunit 2 has no dynamic skip)
        }
        var e = Assert.Throws<EdgeAvsrException>(() => LlamaEngine.ChooseBackend(LlamaBackendKind.Cuda));
        Assert.Contains("CUDA was requested", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        var auto = LlamaEngine.ChooseBackend(LlamaBackendKind.Auto);
        Assert.Equal("CPU", auto.Kind);
        Assert.Contains("no GPU device", auto.Reason, StringComparison.Ordinal);
        Assert.Contains("CPU", string.Join(" ", auto.Devices), StringComparison.Ordinal);
    }

    [Fact]
    public void Backend_ChoiceFromDeviceNames()
    {
        string[] jetson = ["CPU", "CUDA0"];
        Assert.Equal(["CUDA0"], LlamaEngine.ChooseBackend(LlamaBackendKind.Auto, jetson, gpuOffload: true).Devices);
        Assert.Equal("CUDA", LlamaEngine.ChooseBackend(LlamaBackendKind.Cuda, jetson, gpuOffload: true).Kind);
        Assert.Equal("CPU", LlamaEngine.ChooseBackend(LlamaBackendKind.Cpu, jetson, gpuOffload: true).Kind);
        Assert.Equal("CPU", LlamaEngine.ChooseBackend(LlamaBackendKind.Auto, ["CPU", "BLAS"], gpuOffload: false).Kind);
        Assert.Throws<EdgeAvsrException>(() => LlamaEngine.ChooseBackend(LlamaBackendKind.Cuda, ["CPU", "BLAS"], gpuOffload: false));
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

/// <summary>
/// LLamaSharp's mirrors of the model and context parameter structs against the pinned libllama: the native defaults
/// (llama_model_default_params, llama_context_default_params) read back through them are llama.cpp's documented ones,
/// so every field the decoder sets (n_gpu_layers, flash_attn_type, type_k/type_v, kv_unified, ...) lands where libllama reads it.
/// </summary>
public class LlamaParamsAbiTests
{
    [Fact]
    public void ModelAndContextParams_NativeDefaults_ReadBackThroughLLamaSharp()
    {
        LlamaEngine.Initialize();
        Assert.Equal(72, Marshal.SizeOf<LLamaModelParams>());
        Assert.Equal(160, Marshal.SizeOf<LLamaContextParams>());
        Assert.Equal(56, Marshal.SizeOf<LLamaNativeBatch>());
        var m = LLamaModelParams.Default();
        Assert.Equal(-1, m.n_gpu_layers);
        Assert.Equal(GPUSplitMode.Layer, m.split_mode);
        Assert.Equal(0, m.main_gpu);
        Assert.False(m.vocab_only);
        Assert.False(m.check_tensors);
        Assert.True(m.use_extra_bufts);
        Assert.False(m.no_alloc);
        var c = LLamaContextParams.Default();
        Assert.Equal(512u, c.n_ctx);
        Assert.Equal(2048u, c.n_batch);
        Assert.Equal(512u, c.n_ubatch);
        Assert.Equal(1u, c.n_seq_max);
        Assert.Equal(LLamaFlashAttentionType.LLAMA_FLASH_ATTENTION_TYPE_AUTO, c.llama_flash_attn_type);
        Assert.Equal(-1f, c.yarn_ext_factor);
        Assert.Equal(-1f, c.defrag_threshold);
        Assert.Equal(GGMLType.GGML_TYPE_F16, c.type_k);
        Assert.Equal(GGMLType.GGML_TYPE_F16, c.type_v);
        Assert.True(c.offload_kqv);
        Assert.False(c.kv_unified);
        Assert.Equal(IntPtr.Zero, c.samplers);
        Assert.Equal(IntPtr.Zero, c.ctx_other);
    }
}
