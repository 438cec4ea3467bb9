using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace EdgeAvsr.Runtime.Tests.Onnx;

/// <summary>A tiny ONNX graph built by the python onnx package (independent of our layer), shared by the tests.</summary>
public sealed class TinyOnnxModel : IDisposable
{
    private readonly TempDir _dir = new();

    public TinyOnnxModel()
    {
        Path = _dir.File("tiny.onnx");
        // y[b, 4] = x[b, 3] @ W + bias; n = count + 1 (int64). W[i, j] = i - 2j * 0.5, bias[j] = j.
        Python.Run($$"""
            import onnx, numpy as np
            from onnx import helper, TensorProto, numpy_helper
            W = np.array([[i - j * 0.5 * 2 for j in range(4)] for i in range(3)], dtype=np.float32) * 0.25
            b = np.arange(4, dtype=np.float32)
            g = helper.make_graph(
                [helper.make_node("MatMul", ["x", "W"], ["xw"]), helper.make_node("Add", ["xw", "bias"], ["y"]),
                 helper.make_node("Add", ["count", "one"], ["n"])],
                "tiny",
                [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3]),
                 helper.make_tensor_value_info("count", TensorProto.INT64, [1])],
                [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4]),
                 helper.make_tensor_value_info("n", TensorProto.INT64, [1])],
                [numpy_helper.from_array(W, "W"), numpy_helper.from_array(b, "bias"), numpy_helper.from_array(np.array([1], dtype=np.int64), "one")])
            m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
            m.ir_version = 8
            onnx.checker.check_model(m)
            onnx.save(m, r"{{Path}}")
            """);
    }

    public string Path { get; }

    public static float Expected(float[] x, int row, int j)
    {
        float s = j;
        for (int i = 0; i < 3; i++)
        {
            s += x[row * 3 + i] * (i - j) * 0.25f;
        }
        return s;
    }

    public void Dispose() => _dir.Dispose();
}

[Collection("console")]
public class OnnxSessionTests(TinyOnnxModel model) : IClassFixture<TinyOnnxModel>
{
    [Fact]
    public void Session_ReportsNamesTypesAndShapes_FromTheModel()
    {
        using var s = OnnxSession.Create(model.Path);
        Assert.Equal(ExecutionProvider.Cpu, s.Provider);
        Assert.Equal(["x", "count"], s.Inputs.Select(i => i.Name));
        Assert.Equal([OnnxElementType.Float, OnnxElementType.Int64], s.Inputs.Select(i => i.ElementType));
        Assert.Equal(new long[] { -1, 3 }, s.Inputs[0].Shape);
        Assert.Equal(new long[] { 1 }, s.Inputs[1].Shape);
        Assert.Equal(["y", "n"], s.Outputs.Select(o => o.Name));
        Assert.Equal(new long[] { -1, 4 }, s.Outputs[0].Shape);
        Assert.Equal(OnnxElementType.Int64, s.Outputs[1].ElementType);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 0)]
    [InlineData(2, 1)]
    public void Run_OverPinnedManagedMemory_MatchesTheGraph(int intraThreads, int interThreads)
    {
        using var s = OnnxSession.Create(model.Path, new OnnxSessionOptions { IntraOpThreads = intraThreads, InterOpThreads = interThreads });
        var rng = new Random(5);
        var x = Enumerable.Range(0, 5 * 3).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
        var outputs = s.Run(new Dictionary<string, OnnxTensor> { ["x"] = OnnxTensor.Float(x, 5, 3), ["count"] = OnnxTensor.Int64([41], 1) });
        Assert.Equal(new long[] { 5, 4 }, outputs[0].Shape);
        for (int r = 0; r < 5; r++)
        {
            for (int j = 0; j < 4; j++)
            {
                Assert.Equal(TinyOnnxModel.Expected(x, r, j), outputs[0].Floats[r * 4 + j], 5);
            }
        }
        Assert.Equal(new long[] { 42 }, outputs[1].Int64s);

        // Only the requested output, by name.
        var n = s.Run(new Dictionary<string, OnnxTensor> { ["x"] = OnnxTensor.Float(x, 5, 3), ["count"] = OnnxTensor.Int64([1], 1) }, ["n"]);
        Assert.Equal(new long[] { 2 }, Assert.Single(n).Int64s);
    }

    [Fact]
    public void SessionConfigEntries_AreApplied()
    {
        // allow_spinning=0 is accepted; load_model_format=ORT visibly takes effect: the .onnx file is then refused.
        using (var s = OnnxSession.Create(model.Path, new OnnxSessionOptions { ConfigEntries = new Dictionary<string,
            string> { ["session.intra_op.allow_spinning"] = "0" } }))
        {
            Assert.Equal(2, s.Run(new Dictionary<string, OnnxTensor> { ["x"] = OnnxTensor.Float(new float[3], 1, 3),
                ["count"] = OnnxTensor.Int64([1], 1) }, ["n"])[0].Int64s[0]);
        }
        var e = Assert.Throws<EdgeAvsrException>(() =>
            OnnxSession.Create(model.Path, new OnnxSessionOptions { ConfigEntries = new Dictionary<string,
            string> { ["session.load_model_format"] = "ORT" } }));
        var ort = OrtError.Of(Assert.IsType<OnnxRuntimeException>(e.InnerException));
        Assert.Contains(ort.Message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NotAnOnnxFile_IsAnEdgeAvsrError_QuotingOrt()
    {
        using var dir = new TempDir();
        string bad = dir.File("bad.onnx");
        File.WriteAllText(bad, "this is not a protobuf, just text");
        var e = Assert.Throws<EdgeAvsrException>(() => OnnxSession.Create(bad));
        Assert.Contains(bad, e.Message, StringComparison.Ordinal);
        var ort = OrtError.Of(Assert.IsType<OnnxRuntimeException>(e.InnerException));
        Assert.NotEqual("", ort.Code);
        Assert.NotEqual("Ok", ort.Code);
        Assert.False(string.IsNullOrWhiteSpace(ort.Message));
        Assert.Contains($"({ort.Code}): {ort.Message}", e.Message, StringComparison.Ordinal);

        Assert.Contains("model file not found", Assert.Throws<EdgeAvsrException>(() => OnnxSession.Create(dir.File("missing.onnx"))).Message,
            StringComparison.Ordinal);
    }

    [Fact]
    public void OrtError_CarriesOrtCodeAndMessage_ForAnInvalidGraphFromMemory()
    {
        // Three bytes are not a model: CreateSessionFromArray fails, and the code and message are ORT's own, split
        // from the package's "[ErrorCode:Name] message".
        var e = Assert.Throws<EdgeAvsrException>(() => OnnxSession.Create(new byte[] { 1, 2, 3 }));
        var inner = Assert.IsType<OnnxRuntimeException>(e.InnerException);
        var ort = OrtError.Of(inner);
        Assert.Equal("InvalidProtobuf", ort.Code);
        Assert.Contains("protobuf parsing failed", ort.Message, StringComparison.Ordinal);
        Assert.Equal($"[ErrorCode:InvalidProtobuf] {ort.Message}", inner.Message);
        Assert.Equal($"(memory): ONNX Runtime cannot load this model (InvalidProtobuf): {ort.Message}", e.Message);
    }

    [Fact]
    public void OrtError_WithoutThePrefix_KeepsTheWholeMessage()
    {
        Assert.Equal(new OrtError("Fail", "x ] y"), OrtError.Parse("[ErrorCode:Fail] x ] y"));
        Assert.Equal(new OrtError("", "plain text"), OrtError.Parse("plain text"));
        Assert.Equal(new OrtError("", "[ErrorCode:] empty"), OrtError.Parse("[ErrorCode:] empty"));
    }

    [Fact]
    public void WrongInputs_AreNamedWithTheExpectedShape()
    {
        using var s = OnnxSession.Create(model.Path);
        var shape = Assert.Throws<EdgeAvsrException>(() =>
            s.Run(new Dictionary<string, OnnxTensor> { ["x"] = OnnxTensor.Float(new float[8], 2, 4), ["count"] = OnnxTensor.Int64([1], 1) }));
        Assert.Contains("input 'x' expects float32 [?, 3], got float32 [2, 4]", shape.Message, StringComparison.Ordinal);
        var name = Assert.Throws<EdgeAvsrException>(() =>
            s.Run(new Dictionary<string, OnnxTensor> { ["input"] = OnnxTensor.Float(new float[3], 1, 3), ["count"] = OnnxTensor.Int64([1], 1) }));
        Assert.Contains("no input 'input'", name.Message, StringComparison.Ordinal);
        var type = Assert.Throws<EdgeAvsrException>(() =>
            s.Run(new Dictionary<string, OnnxTensor> { ["x"] = OnnxTensor.Float(new float[3], 1, 3), ["count"] = OnnxTensor.Int32([1], 1) }));
        Assert.Contains("input 'count' expects int64 [1], got int32 [1]", type.Message, StringComparison.Ordinal);
    }

    /// <summary>ORT's own reason for refusing <paramref name="provider"/>, asked of the package directly (not through our layer).</summary>
    private static string OrtRefusal(ExecutionProvider provider)
    {
        OnnxRuntimeEnvironment.Initialize();
        using var so = new SessionOptions();
        var e = Assert.Throws<OnnxRuntimeException>(() =>
        {
            if (provider == ExecutionProvider.TensorRt)
            {
                using var trt = new OrtTensorRTProviderOptions();
                trt.UpdateOptions(new Dictionary<string, string> { ["device_id"] = "0" });
                so.AppendExecutionProvider_Tensorrt(trt);
            }
            else
            {
                using var cuda = new OrtCUDAProviderOptions();
                cuda.UpdateOptions(new Dictionary<string, string> { ["device_id"] = "0" });
                so.AppendExecutionProvider_CUDA(cuda);
            }
        });
        return OrtError.Of(e).Message.ReplaceLineEndings(" ").Trim();
    }

    [Fact]
    public void ProviderOrder_TensorRtAndCudaFailWithOrtsReason_ThenCpuBecauseListed()
    {
        // The CPU package is built without either GPU provider.
        Assert.Contains("CPUExecutionProvider", OnnxSession.AvailableProviders());
        var log = new List<string>();
        using var s = OnnxSession.Create(model.Path, new OnnxSessionOptions
        {
            Providers = OnnxSessionOptions.ParseProviders("tensorrt,cuda,cpu"),
            TensorRt = new TensorRtOptions
            {
                Fp16 = true, EngineCacheDirectory = "/tmp/trt-engines", TimingCacheDirectory = "/tmp/trt-timing", MaxWorkspaceBytes = 1L << 30, DlaCore = 0,
                ExtraPluginLibraries = ["/tmp/libplugin.so"],
            },
            Log = log.Add,
        });
        Assert.Equal(ExecutionProvider.Cpu, s.Provider);
        Assert.Equal([ExecutionProvider.Cpu], s.Providers);
        Assert.Equal(3, log.Count);
        Assert.StartsWith("execution provider tensorrt unavailable: ", log[0], StringComparison.Ordinal);
        Assert.Contains(OrtRefusal(ExecutionProvider.TensorRt), log[0], StringComparison.Ordinal);
        Assert.Contains(TensorRtAbsent, log[0], StringComparison.Ordinal);
        Assert.StartsWith("execution provider cuda unavailable: ", log[1], StringComparison.Ordinal);
        Assert.Contains(OrtRefusal(ExecutionProvider.Cuda), log[1], StringComparison.Ordinal);
        Assert.Contains(CudaAbsent, log[1], StringComparison.Ordinal);
        Assert.Equal("execution provider: cpu (from providers tensorrt,cuda,cpu)", log[2]);
        Assert.Equal(log, s.ProviderLog);
        Assert.Equal(2, s.Run(new Dictionary<string, OnnxTensor> { ["x"] = OnnxTensor.Float(new float[3], 1, 3),
            ["count"] = OnnxTensor.Int64([1], 1) }, ["n"])[0].Int64s[0]);
    }

    // ORT's words for a provider the CPU package was built without.
    private const string TensorRtAbsent = "TensorRT execution provider is not enabled in this build";
    private const string CudaAbsent = "CUDA execution provider is not enabled in this build";

    [Theory]
    [InlineData("tensorrt")]
    [InlineData("tensorrt,cuda")]
    [InlineData("cuda")]
    public void ProviderOrder_WithoutCpu_CannotBeSatisfied_IsOneLineQuotingOrt(string ep)
    {
        var e = Assert.Throws<EdgeAvsrException>(() =>
            OnnxSession.Create(model.Path, new OnnxSessionOptions { Providers = OnnxSessionOptions.ParseProviders(ep) }));
        Assert.StartsWith($"none of the execution providers listed ({ep}) can be used here: execution provider ", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        foreach (var p in OnnxSessionOptions.ParseProviders(ep))
        {
            Assert.Contains($"execution provider {p.ToText()} unavailable: {OrtRefusal(p)}", e.Message, StringComparison.Ordinal);
        }
        Assert.Contains(ep.StartsWith("cuda", StringComparison.Ordinal) ? CudaAbsent : TensorRtAbsent, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ProviderOrder_CpuListedBeforeAGpuProvider_IsAppendedInItsPlace()
    {
        var log = new List<string>();
        using var s = OnnxSession.Create(model.Path, new OnnxSessionOptions { Providers = OnnxSessionOptions.ParseProviders("cpu,cuda"), Log = log.Add });
        Assert.Equal([ExecutionProvider.Cpu], s.Providers);
        Assert.StartsWith("execution provider cuda unavailable: ", log[0], StringComparison.Ordinal);
        Assert.Equal("execution provider: cpu (from providers cpu,cuda)", log[1]);
    }

    [Fact]
    public void TensorRtAndCudaOptions_BecomeOrtsProviderKeys()
    {
        var trt = new TensorRtOptions
        {
            DeviceId = 1, Fp16 = true, Int8 = true, EngineCacheDirectory = "/cache/engines", TimingCacheDirectory = "/cache/timing",
            MaxWorkspaceBytes = 2147483648, DlaCore = 1, ExtraPluginLibraries = ["/opt/a/libp1.so", "/opt/b/libp2.so"],
            Extra = new Dictionary<string, string> { ["trt_builder_optimization_level"] = "5" },
        }.ToKeyValues().ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal(new Dictionary<string, string>
        {
            ["device_id"] = "1", ["trt_fp16_enable"] = "1", ["trt_int8_enable"] = "1",
            ["trt_engine_cache_enable"] = "1", ["trt_engine_cache_path"] = "/cache/engines",
            ["trt_timing_cache_enable"] = "1", ["trt_timing_cache_path"] = "/cache/timing",
            ["trt_max_workspace_size"] = "2147483648", ["trt_dla_enable"] = "1", ["trt_dla_core"] = "1",
            ["trt_extra_plugin_lib_paths"] = "/opt/a/libp1.so;/opt/b/libp2.so", ["trt_builder_optimization_level"] = "5",
        }, trt);
        Assert.Equal(new Dictionary<string, string> { ["device_id"] = "0", ["trt_fp16_enable"] = "0", ["trt_int8_enable"] = "0" },
            new TensorRtOptions().ToKeyValues().ToDictionary(kv => kv.Key, kv => kv.Value));
        Assert.Equal([new KeyValuePair<string, string>("device_id", "2"), new("gpu_mem_limit", "1073741824")],
            new CudaOptions { DeviceId = 2, Extra = new Dictionary<string, string> { ["gpu_mem_limit"] = "1073741824" } }.ToKeyValues());
    }

    [Theory]
    [InlineData("gpu", "'gpu' is not an execution provider")]
    [InlineData("cpu,cpu", "lists 'cpu' twice")]
    [InlineData(",", "is empty")]
    public void ProviderList_BadText_IsAClearError(string text, string expected) =>
        Assert.Contains(expected, Assert.Throws<EdgeAvsrException>(() => OnnxSessionOptions.ParseProviders(text)).Message, StringComparison.Ordinal);

    [Fact]
    public void Shapes_PrintSymbolicDimensionsAsQuestionMarks_InOneFormat()
    {
        Assert.Equal("[?, 3]", TensorDTypes.FormatShape([-1, 3]));
        Assert.Equal("[1, 80, 3000]", TensorDTypes.FormatShape([1, 80, 3000]));
        Assert.Equal("[]", TensorDTypes.FormatShape([]));
    }

    [Fact]
    public void Dispose_DuringRun_LetsTheNativeCallFinish_ThenRunIsObjectDisposed()
    {
        // A chain of 24 [256, 256] MatMuls: tens of milliseconds inside ORT's Run on one thread.
        using var dir = new TempDir();
        string slow = dir.File("slow.onnx");
        Python.Run($$"""
            import onnx, numpy as np
            from onnx import helper, TensorProto, numpy_helper
            rng = np.random.default_rng(1)
            n = 24
            nodes = [helper.make_node("MatMul", ["x" if i == 0 else f"h{i}", f"w{i}"], ["y" if i == n - 1 else f"h{i + 1}"]) for i in range(n)]
            ws = [numpy_helper.from_array((rng.standard_normal((256, 256)) / 16).astype(np.float32), f"w{i}") for i in range(n)]
            g = helper.make_graph(nodes, "slow", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [256, 256])],
                [helper.make_tensor_value_info("y", TensorProto.FLOAT, [256, 256])], ws)
            m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
            m.ir_version = 8
            onnx.save(m, r"{{slow}}")
            """);
        var input = new Dictionary<string, OnnxTensor> { ["x"] = OnnxTensor.Float(new float[256 * 256], 256, 256) };
        int finishedAfterDispose = 0;
        for (int round = 0; round < 6; round++)
        {
            var session = OnnxSession.Create(slow, new OnnxSessionOptions { IntraOpThreads = 1, InterOpThreads = 1 });
            using var running = new ManualResetEventSlim();
            bool disposed = false;
            Exception? end = null;
            var runner = new Thread(() =>
            {
                try
                {
                    while (true)
                    {
                        running.Set();
                        Assert.Equal(new long[] { 256, 256 }, session.Run(input)[0].Shape);
                        if (Volatile.Read(ref disposed))
                        {
                            Interlocked.Increment(ref finishedAfterDispose);
                        }
                    }
                }
                catch (Exception e)
                {
                    end = e;
                }
            });
            runner.Start();
            running.Wait();
            // A wall-clock pause is the point here: Dispose must land while ORT is inside Run.
            Thread.Sleep(5 + 7 * round);
            session.Dispose();
            Volatile.Write(ref disposed, true);
            runner.Join();
            Assert.IsType<ObjectDisposedException>(end);
        }
        // At least one Run was inside ORT when Dispose returned, and it completed on a live session.
        Assert.True(finishedAfterDispose > 0, "no Dispose landed inside a Run");
    }

    [Fact]
    public void Create_ReleasesTheNativeSession_WhenReadingItsInputsAndOutputsFails()
    {
        TrackedSession? made = null;
        var e = Assert.Throws<InvalidOperationException>(() => OnnxSession.CreateCore(model.Path, new OnnxSessionOptions(),
            so => made = new TrackedSession(model.Path, so),
            (session, input) => throw new InvalidOperationException("inputs unreadable")));
        Assert.Equal("inputs unreadable", e.Message);
        Assert.NotNull(made);
        Assert.True(made.Disposed);
    }

    [Fact]
    public void Dispose_ReleasesTheNativeSessionOnce()
    {
        TrackedSession? made = null;
        var s = OnnxSession.CreateCore(model.Path, new OnnxSessionOptions(), so => made = new TrackedSession(model.Path, so));
        Assert.False(made!.Disposed);
        s.Dispose();
        Assert.True(made.Disposed);
        s.Dispose();
        Assert.Equal(1, made.DisposeCount);
        var input = new Dictionary<string, OnnxTensor> { ["x"] = OnnxTensor.Float(new float[3], 1, 3), ["count"] = OnnxTensor.Int64([1], 1) };
        Assert.Throws<ObjectDisposedException>(() => s.Run(input));
    }

    [Fact]
    public void Environment_ReportsTheLibraryFileVersionAndProviders_Once()
    {
        var info = OnnxRuntimeEnvironment.Initialize();
        Assert.Same(info, OnnxRuntimeEnvironment.Initialize());
        Assert.Equal("onnxruntime", info.Engine);
        Assert.Equal("1.32.0", info.Version);
        string file = Assert.Single(info.Files);
        Assert.True(Path.IsPathRooted(file), file);
        Assert.True(File.Exists(file), file);
        Assert.StartsWith("libonnxruntime.so", Path.GetFileName(file), StringComparison.Ordinal);
        // The file loaded is the package's, which the build copied from the NuGet cache: same bytes.
        Assert.Contains("C API version 31 (asked for by Microsoft.ML.OnnxRuntime 1.32.0)", info.Details);
        Assert.Contains(info.Details,
            d => d.StartsWith("providers compiled in: ", StringComparison.Ordinal) && d.Contains("CPUExecutionProvider", StringComparison.Ordinal));
        Assert.Contains("loaded from the package's copy beside the application", info.Details);
    }

    [Fact]
    public void OrtsOwnLog_GoesToOurSink_AtWarningLevel()
    {
        // An initializer no node reads: ORT's graph loader warns that it removes it.
        using var dir = new TempDir();
        string path = dir.File("unused.onnx");
        Python.Run($$"""
            import onnx, numpy as np
            from onnx import helper, TensorProto, numpy_helper
            g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "unused",
                [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
                [numpy_helper.from_array(np.ones(3, dtype=np.float32), "never_read")])
            m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
            m.ir_version = 8
            onnx.save(m, r"{{path}}")
            """);
        var sink = new StringWriter();
        var old = OnnxRuntimeLog.Sink;
        OnnxRuntimeLog.Sink = sink;
        try
        {
            using var s = OnnxSession.Create(path);
            Assert.Equal(new float[] { 0, 2 }, s.Run(new Dictionary<string, OnnxTensor> { ["x"] = OnnxTensor.Float([-1, 2], 2) })[0].Floats);
        }
        finally
        {
            OnnxRuntimeLog.Sink = old;
        }
        Assert.Equal(Microsoft.ML.OnnxRuntime.OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING, OnnxRuntimeLog.MinimumLevel);
        Assert.Contains(sink.ToString().Split('\n'),
            l => l.StartsWith("onnxruntime warning: ", StringComparison.Ordinal) && l.Contains("never_read", StringComparison.Ordinal));
    }

    /// <summary>The package's session, counting its releases.</summary>
    private sealed class TrackedSession(string path, SessionOptions options) : InferenceSession(path, options)
    {
        public int DisposeCount { get; private set; }

        public bool Disposed => DisposeCount > 0;

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                DisposeCount++;
            }
            base.Dispose(disposing);
        }
    }
}
