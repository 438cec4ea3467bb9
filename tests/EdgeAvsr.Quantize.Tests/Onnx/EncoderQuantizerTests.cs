using System.Globalization;
using EdgeAvsr.Quantize.Onnx;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Audio;
using EdgeAvsr.Runtime.Encoders;
using EdgeAvsr.Runtime.Onnx;
using EdgeAvsr.Runtime.Video;

namespace EdgeAvsr.Quantize.Tests.Onnx;

/// <summary>
/// The INT8 encoders against their float models: ONNX Runtime loads them and their outputs stay within a bound of the
/// float outputs on clips not used for calibration; onnx's own checker accepts them; the CPU provider runs their
/// MatMuls with int8 kernels; and the refusals name the tensor or input at fault.
/// </summary>
public sealed class EncoderQuantizerTests(TinyQuantizedEncoders encoders) : IClassFixture<TinyQuantizedEncoders>
{
    // Tiny random-weight encoders (64 wide, 2 layers): what 8-bit weights and activations cost them measured 1.6e-2
    // (audio) and 2.6e-2 (video) on the calibration clips; the bound leaves room for other clips, not for a broken graph.
    private const double Bound = 4e-2;

    private static readonly OnnxSessionOptions s_cpu = new() { Providers = [ExecutionProvider.Cpu], IntraOpThreads = 1 };
    private static readonly OnnxSessionOptions s_int8 = s_cpu with { ConfigEntries = Int8EncoderSessionConfig.Entries };

    private static string Clip(int index) =>
        Directory.GetFiles(Path.Combine(Tools.RepoRoot, "Models", "demo", "samples"), "*.mp4").Order(StringComparer.Ordinal).ElementAt(index);

    [Fact]
    public void Audio_encoder_int8_matches_fp32_on_a_clip_it_was_not_calibrated_on()
    {
        using var fp32 = EncoderSession.Open(encoders.Audio, s_cpu);
        using var int8 = EncoderSession.Open(encoders.AudioInt8, s_int8);
        var signal = AudioLoader.Load(Clip(4));
        float[] mel = LogMelFeatures.Compute(signal, normalize: false);
        var reference = fp32.EncodeAudio(mel, null);
        var quantized = int8.EncodeAudio(mel, null);
        double error = RelativeL2.Of(reference.Data, quantized.Data);
        Assert.InRange(error, 1e-4, Bound); // above 1e-4: the QDQ pairs do change the result
        Assert.InRange(encoders.AudioReport.OutputError[ActivationRangeMethod.Percentile].All, 1e-4, Bound);
    }

    [Fact]
    public void Video_encoder_int8_matches_fp32_on_a_clip_it_was_not_calibrated_on()
    {
        using var fp32 = EncoderSession.Open(encoders.Video, s_cpu);
        using var int8 = EncoderSession.Open(encoders.VideoInt8, s_int8);
        var (roi, crops) = MouthCropReader.ReadRoi(Clip(4));
        var reference = fp32.EncodeVideo(roi, crops.Crops.Count);
        var quantized = int8.EncodeVideo(roi, crops.Crops.Count);
        Assert.InRange(RelativeL2.Of(reference.Data, quantized.Data), 1e-4, Bound);
    }

    [Fact]
    public void Report_holds_every_target_and_both_methods()
    {
        var r = encoders.VideoReport;
        var model = OnnxModelFile.Read(encoders.Video);
        var targets = EncoderQuantizer.FindTargets(model, activationMatMuls: false);
        Assert.Equal(targets.Count, r.Weights.Count);
        Assert.DoesNotContain(targets, t => t.OpType == "Conv"); // the default: MatMul and Gemm
        Assert.Contains(targets, t => t.OpType == "MatMul");
        var withConv = EncoderQuantizer.FindTargets(model, false, new HashSet<string> { "MatMul", "Gemm", "Conv" });
        Assert.All(withConv.Where(t => t.OpType == "Conv"), t => Assert.Equal(0, t.WeightAxis));
        Assert.Equal(encoders.VideoConvReport.Weights.Count, withConv.Count);
        Assert.InRange(encoders.VideoConvReport.OutputError[ActivationRangeMethod.MinMax].All, 1e-4, Bound);
        Assert.Equal([ActivationRangeMethod.MinMax, ActivationRangeMethod.Percentile], r.OutputError.Keys.Order());
        Assert.All(r.Activations, a => Assert.True(a.Scale > 0 && a.PercentileAbs <= a.MaxAbs + 1e-9, a.Tensor));
        Assert.Equal(ActivationRangeMethod.Percentile, r.Method);
        Assert.All(r.Activations, a => Assert.Equal((float)(a.PercentileAbs / 127), a.Scale));
        Assert.All(r.Weights, w => Assert.InRange(w.RelativeL2, 1e-5, 2e-2));
        string json = encoders.File("video.report.json");
        r.Write(json);
        Assert.Contains("\"percentile\"", File.ReadAllText(json), StringComparison.Ordinal);
    }

    [Fact]
    public void Onnx_checker_accepts_the_int8_models()
    {
        string output = Python.Run($$"""
            import onnx
            for path in [r"{{encoders.AudioInt8}}", r"{{encoders.VideoInt8}}", r"{{encoders.VideoInt8Conv}}"]:
                m = onnx.load(path)
                onnx.checker.check_model(m, full_check=True)
                ops = sorted({n.op_type for n in m.graph.node})
                print(path, "QuantizeLinear" in ops, "DequantizeLinear" in ops)
            """);
        Assert.Equal(3, output.Split('\n').Count(l => l.EndsWith("True True", StringComparison.Ordinal)));
    }

    [Fact]
    public void Cpu_provider_runs_the_quantized_matmuls_with_int8_kernels()
    {
        string optimized = encoders.File("audio.int8.optimized.onnx");
        using (EncoderSession.Open(encoders.AudioInt8, s_int8 with { OptimizedModelPath = optimized }))
        {
        }
        var graph = OnnxModelFile.Read(optimized).Graph;
        var initializers = graph.Initializers.Select(i => i.Name).ToHashSet();
        var ops = graph.Nodes.Select(n => n.OpType).ToList();
        var targets = EncoderQuantizer.FindTargets(OnnxModelFile.Read(encoders.Audio), activationMatMuls: false);
        int matmuls = targets.Count(t => t.OpType == "MatMul");
        Assert.True(matmuls >= 10, $"{matmuls} MatMuls with weights in the tiny Whisper encoder");
        int int8Kernels = ops.Count(o => o is "MatMulIntegerToFloat" or "QLinearMatMul" or "DynamicQuantizeMatMul" or "QGemm");
        Assert.True(int8Kernels >= matmuls, $"int8 MatMul kernels: {int8Kernels} of {matmuls}; ops: {string.Join(" ", ops.Distinct())}");
        // No float MatMul is left that multiplies by a weight (dequantized or not).
        var dequantizedWeights = graph.Nodes.Where(n => n.OpType == "DequantizeLinear" && initializers.Contains(n.Inputs[0])).SelectMany(n => n.Outputs)
            .ToHashSet();
        Assert.DoesNotContain(graph.Nodes, n => n.OpType == "MatMul" && n.Inputs.Any(i => initializers.Contains(i) || dequantizedWeights.Contains(i)));
    }

    [Fact]
    public void One_matmul_equals_a_numpy_fake_quant_reference()
    {
        string model = encoders.File("matmul.onnx");
        string x = encoders.File("matmul_x.npy");
        string reference = encoders.File("matmul_ref.npy");
        // numpy computes its own scales: max |x| / 127 over the calibration input, max |W[:, n]| / 127 per column.
        Python.Run($$"""
            import numpy as np, onnx
            from onnx import helper, TensorProto, numpy_helper
            rng = np.random.default_rng(5)
            w = rng.standard_normal((48, 24)).astype(np.float32)
            x = (rng.standard_normal((1, 20, 48)) * 3).astype(np.float32)
            g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], "one",
                [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 20, 48])],
                [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 20, 24])], [numpy_helper.from_array(w, "w")])
            m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
            m.ir_version = 8
            onnx.save(m, r"{{model}}")
            np.save(r"{{x}}", x)
            sx = np.float32(np.abs(x).max() / 127)
            sw = (np.abs(w).max(axis=0) / 127).astype(np.float32)
            xq = np.clip(np.round(x / sx), -127, 127) * sx
            wq = np.clip(np.round(w / sw), -127, 127) * sw
            np.save(r"{{reference}}", (xq.astype(np.float64) @ wq.astype(np.float64)).astype(np.float32))
            """);
        float[] input = Runtime.Formats.NpyFile.ReadFloat32(x).Data;
        var calibration = new Dictionary<string, OnnxTensor> { ["x"] = OnnxTensor.Float(input, 1, 20, 48) };
        string output = encoders.File("matmul.int8.onnx");
        EncoderQuantizer.Quantize(model, [calibration], "one input", output, new EncoderQuantizeOptions { Method = ActivationRangeMethod.MinMax, Threads = 1 });
        using var session = OnnxSession.Create(output, s_int8);
        float[] y = session.Run(calibration)[0].Floats;
        float[] expected = Runtime.Formats.NpyFile.ReadFloat32(reference).Data;
        Assert.InRange(RelativeL2.Of(expected, y), 0, 1e-5);
    }

    [Fact]
    public void Seven_bit_weights_use_63_levels()
    {
        string output = encoders.File("audio.int7.onnx");
        var report = EncoderMediaQuantizer.Quantize(encoders.Audio, encoders.Media, null, output, new EncoderQuantizeOptions { WeightBits = 7, Threads = 1 });
        var weights = OnnxModelFile.Read(output).Graph.Initializers.Where(i => i.DataType == OnnxElementType.Int8 && i.Dims.Count >= 2).ToList();
        Assert.NotEmpty(weights);
        Assert.All(report.Weights, w => Assert.InRange(w.RelativeL2, 1e-5, 4e-2));
        Assert.True(report.Weights.Average(w => w.RelativeL2) > encoders.AudioReport.Weights.Average(w => w.RelativeL2) * 1.5,
            "7-bit weights are coarser than 8-bit ones");
    }

    [Fact]
    public void External_data_is_refused_naming_the_tensor()
    {
        string model = encoders.File("external.onnx");
        Python.Run($$"""
            import onnx
            m = onnx.load(r"{{encoders.Audio}}")
            onnx.save(m, r"{{model}}", save_as_external_data=True, all_tensors_to_one_file=True, location="external.bin", size_threshold=1024)
            """);
        var e = Assert.Throws<EdgeAvsrException>(() => EncoderMediaQuantizer.Quantize(model, encoders.Media, null, encoders.File("x.onnx")));
        Assert.Matches("initializer '.+' lies in an external data file", e.Message);
        Assert.False(File.Exists(encoders.File("x.onnx")));
    }

    [Fact]
    public void Non_float_weight_is_refused_naming_it_and_its_node()
    {
        string model = encoders.File("double.onnx");
        Python.Run($$"""
            import numpy as np, onnx
            from onnx import helper, TensorProto, numpy_helper
            g = helper.make_graph([helper.make_node("MatMul", ["x", "w_double"], ["y"], name="mm_double")], "d",
                [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [2, 4])], [helper.make_tensor_value_info("y", TensorProto.DOUBLE, [2, 3])],
                [numpy_helper.from_array(np.ones((4, 3)), "w_double")])
            m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
            m.ir_version = 8
            onnx.save(m, r"{{model}}")
            """);
        var e = Assert.Throws<EdgeAvsrException>(() => EncoderQuantizer.Quantize(model,
            [new Dictionary<string, OnnxTensor> { ["x"] = OnnxTensor.Float(new float[8], 2, 4) }], "zeros", encoders.File("y.onnx")));
        Assert.Contains("weight 'w_double' of MatMul node 'mm_double' is DOUBLE; expected FLOAT", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Calibration_without_the_model_input_is_refused_naming_it()
    {
        var e = Assert.Throws<EdgeAvsrException>(() => EncoderQuantizer.Quantize(encoders.Audio,
            [new Dictionary<string, OnnxTensor> { ["mel"] = OnnxTensor.Float(new float[80 * 3000], 1, 80, 3000) }], "wrong name", encoders.File("z.onnx")));
        Assert.Contains("input_features", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(encoders.File("z.onnx")));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(encoders.File("z.onnx"))!, ".z.onnx*"));
    }

    [Fact]
    public void Cli_quantizes_with_a_report_and_refuses_bad_input_in_one_line()
    {
        string output = encoders.File("cli.int8.onnx");
        string report = encoders.File("cli.report.json");
        var (code, stdout, stderr) = ConsoleCapture.Run(() => Cli.Program.BuildRoot().Parse(
            ["encoder", "--model", encoders.Audio, "--calibration", encoders.Media, "--method", "minmax", "--threads", "1", "--out", output,
                "--report", report]).Invoke());
        Assert.True(code == 0, stderr);
        Assert.Contains("output relative L2 vs fp32, minmax (written)", stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(output) && File.Exists(report));

        (code, _, stderr) = ConsoleCapture.Run(() => Cli.Program.BuildRoot().Parse(
            ["encoder", "--model", encoders.File("absent.onnx"), "--calibration", encoders.Media, "--out", encoders.File("n.onnx")]).Invoke());
        Assert.Equal(2, code);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.Contains("absent.onnx: model file not found", stderr, StringComparison.Ordinal);

        (code, _, stderr) = ConsoleCapture.Run(() => Cli.Program.BuildRoot().Parse(
            ["encoder", "--model", encoders.Audio, "--calibration", encoders.Media, "--ops", "lstm", "--out", encoders.File("n.onnx")]).Invoke());
        Assert.Equal(2, code);
        Assert.Contains("--ops 'lstm' is not matmul, gemm or conv", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Old_opset_and_quantized_models_are_refused()
    {
        string old = encoders.File("opset11.onnx");
        Python.Run($$"""
            import numpy as np, onnx
            from onnx import helper, TensorProto, numpy_helper
            g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "o",
                [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
                [numpy_helper.from_array(np.ones((4, 3), np.float32), "w")])
            m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)])
            m.ir_version = 6
            onnx.save(m, r"{{old}}")
            """);
        var input = new Dictionary<string, OnnxTensor> { ["x"] = OnnxTensor.Float(new float[8], 2, 4) };
        var e = Assert.Throws<EdgeAvsrException>(() => EncoderQuantizer.Quantize(old, [input], "zeros", encoders.File("o.onnx")));
        Assert.Contains("opset 11", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<EdgeAvsrException>(() => EncoderMediaQuantizer.Quantize(encoders.AudioInt8, encoders.Media, null, encoders.File("q.onnx")));
        Assert.Contains("quantized already", e.Message, StringComparison.Ordinal);
        _ = CultureInfo.InvariantCulture;
    }
}
