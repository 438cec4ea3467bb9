using System.Globalization;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Encoders;
using EdgeAvsr.Runtime.Onnx;

namespace EdgeAvsr.Quantize.Onnx;

/// <summary>
/// Float ONNX encoder in, explicitly quantized (QDQ) INT8 encoder out, as both ONNX Runtime's CPU provider (its int8
/// kernels) and TensorRT (explicit quantization: symmetric, zero point 0) read it. Weights of every MatMul, Gemm and
/// Conv with a float initializer weight go int8 per output channel; the activations they read int8 per tensor, with
/// ranges from running the float model (ONNX Runtime, the tensors added as graph outputs) over calibration inputs.
/// </summary>
public static class EncoderQuantizer
{
    /// <summary>DequantizeLinear's <c>axis</c> (per-channel scales) came with opset 13.</summary>
    public const int MinimumOpset = 13;

    /// <summary>
    /// The nodes to quantize: MatMul with an initializer as its second input (rank >= 2; channel axis = last), Gemm
    /// (axis 0 with transB, else 1), Conv (axis 0); with <paramref name="activationMatMuls"/> also MatMuls of two
    /// activations. A weight that is not float is an error naming it and its node.
    /// </summary>
    public static IReadOnlyList<QuantTarget> FindTargets(OnnxModelFile model, bool activationMatMuls, IReadOnlySet<string>? operators = null)
    {
        operators ??= new EncoderQuantizeOptions().Operators;
        ArgumentNullException.ThrowIfNull(model);
        var graph = model.Graph;
        var initializers = graph.Initializers.ToDictionary(i => i.Name);
        var targets = new List<QuantTarget>();
        for (int n = 0; n < graph.Nodes.Count; n++)
        {
            var node = graph.Nodes[n];
            if (!node.IsStandard || node.OpType is not ("MatMul" or "Gemm" or "Conv") || !operators.Contains(node.OpType) || node.Inputs.Count < 2)
            {
                continue;
            }
            string x = node.Inputs[0], w = node.Inputs[1];
            if (initializers.ContainsKey(x))
            {
                continue;
            }
            if (!initializers.TryGetValue(w, out var weight))
            {
                if (node.OpType == "MatMul" && activationMatMuls)
                {
                    targets.Add(new QuantTarget(n, node.Label, node.OpType, x == w ? [x] : [x, w], null, 0));
                }
                continue;
            }
            if (weight.DataType != OnnxElementType.Float)
            {
                throw new EdgeAvsrException($"{model.Source}: weight '{w}' of {node.OpType} node '{node.Label}' is " +
                    $"{weight.DataType.ToString().ToUpperInvariant()}; expected FLOAT (the quantizer reads float weights only)");
            }
            if (weight.IsExternal)
            {
                throw new EdgeAvsrException($"{model.Source}: weight '{w}' of node '{node.Label}' lies in an external data file; " +
                    "save the model as one file (onnx.save(..., save_as_external_data=False)) and quantize that");
            }
            int rank = weight.Dims.Count;
            int axis;
            switch (node.OpType)
            {
                case "MatMul" when rank >= 2:
                    axis = rank - 1;
                    break;
                case "Gemm" when rank == 2:
                    axis = node.Attribute("transB")?.Int == 1 ? 0 : 1;
                    break;
                case "Conv" when rank >= 3:
                    axis = 0;
                    break;
                default:
                    continue;
            }
            targets.Add(new QuantTarget(n, node.Label, node.OpType, [x], w, axis));
        }
        return targets;
    }

    /// <summary>
    /// Quantizes <paramref name="modelPath"/> to <paramref name="outputPath"/> (written to a temporary file beside it and
    /// renamed into place) with ranges from <paramref name="calibration"/> (one value per model input each);
    /// <paramref name="calibrationSource"/> says what they are for the report. Both range methods are built and measured.
    /// </summary>
    public static EncoderQuantizeReport Quantize(string modelPath, IReadOnlyList<IReadOnlyDictionary<string, OnnxTensor>> calibration,
        string calibrationSource, string outputPath, EncoderQuantizeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(calibration);
        options ??= new EncoderQuantizeOptions();
        var log = options.Log ?? (_ => { });
        if (options.WeightBits is not (7 or 8))
        {
            throw new EdgeAvsrException($"weight bits {options.WeightBits}: expected 8 or 7");
        }
        if (options.Percentile is <= 0 or > 100)
        {
            throw new EdgeAvsrException($"percentile {options.Percentile}: expected a value in (0, 100]");
        }
        if (calibration.Count == 0)
        {
            throw new EdgeAvsrException($"{calibrationSource}: no calibration inputs");
        }
        var original = OnnxModelFile.Read(modelPath);
        byte[] bytes = original.Bytes;
        Check(original);
        var targets = FindTargets(original, options.ActivationMatMuls, options.Operators);
        if (!targets.Any(t => t.Weight is not null))
        {
            throw new EdgeAvsrException($"{modelPath}: no MatMul, Gemm or Conv with a float initializer weight; nothing to quantize");
        }
        var activations = targets.SelectMany(t => t.Activations).Distinct().ToList();
        string output = Path.GetFullPath(outputPath);
        string folder = Path.GetDirectoryName(output)!;
        Directory.CreateDirectory(folder);
        string Temp(string what) => Path.Combine(folder, $".{Path.GetFileName(output)}.{what}-{Guid.NewGuid():N}.onnx");
        var session = new OnnxSessionOptions { Providers = [ExecutionProvider.Cpu], IntraOpThreads = options.Threads };
        // The quantized models are measured as the runtime runs them (int8 kernels on the CPU provider).
        var quantizedSession = session with { ConfigEntries = Int8EncoderSessionConfig.Entries };

        // 1. The float model with every activation to quantize as an extra output, run over the calibration inputs.
        var probe = OnnxModelFile.Parse(bytes, modelPath);
        var outputs = probe.Graph.Outputs.Select(o => o.Name).ToHashSet();
        string finalOutput = probe.Graph.Outputs[0].Name;
        // A graph input is read from the calibration data itself (ORT does not copy an input through to an output).
        var graphInputs = probe.Graph.Inputs.Select(i => i.Name).ToHashSet();
        var measured = activations.Where(a => !graphInputs.Contains(a)).ToList();
        foreach (string a in measured.Where(a => !outputs.Contains(a)))
        {
            probe.Graph.Outputs.Add(OnnxValueInfo.Tensor(a, OnnxElementType.Float));
        }
        var histograms = activations.ToDictionary(a => a, _ => new ActivationHistogram());
        var reference = new List<float[]>();
        string probePath = Temp("calibration");
        try
        {
            probe.Write(probePath);
            using var run = OnnxSession.Create(probePath, session);
            string[] names = [finalOutput, .. measured];
            for (int i = 0; i < calibration.Count; i++)
            {
                var results = run.Run(calibration[i], names);
                reference.Add(results[0].Floats);
                for (int a = 0; a < measured.Count; a++)
                {
                    histograms[measured[a]].Add(results[a + 1].Floats);
                }
                foreach (string a in activations.Where(graphInputs.Contains))
                {
                    histograms[a].Add(calibration[i].TryGetValue(a, out var given) ? given.Floats
                        : throw new EdgeAvsrException($"{calibrationSource}: calibration input {i + 1} has no value for the model input '{a}'"));
                }
                log(string.Create(CultureInfo.InvariantCulture, $"calibration input {i + 1}/{calibration.Count}: {activations.Count} activations measured"));
            }
        }
        finally
        {
            File.Delete(probePath);
        }

        // 2. Both methods' QDQ models, each measured against the float outputs; the chosen one is kept.
        var errors = new Dictionary<ActivationRangeMethod, (double, double)>();
        IReadOnlyList<WeightScale> weights = [];
        var chosenScales = new Dictionary<string, float>();
        foreach (var method in new[] { options.Method, Other(options.Method) })
        {
            var scales = activations.ToDictionary(a => a, a => Scale(method == ActivationRangeMethod.MinMax ? histograms[a].Max
                : histograms[a].Percentile(options.Percentile)));
            var model = OnnxModelFile.Parse(bytes, modelPath);
            var written = QdqRewriter.Apply(model.Graph, targets, scales, options.WeightBits);
            model.Graph.CheckTopologicalOrder(modelPath);
            string path = Temp(EncoderQuantizeReport.MethodText(method));
            try
            {
                model.Write(path);
                errors[method] = Measure(path, quantizedSession, calibration, finalOutput, reference);
                log(string.Create(CultureInfo.InvariantCulture,
                    $"{EncoderQuantizeReport.MethodText(method)}: output relative L2 {errors[method].Item1:E2} (worst input {errors[method].Item2:E2})"));
                if (method == options.Method)
                {
                    weights = written;
                    chosenScales = scales;
                    File.Move(path, output, overwrite: true);
                }
            }
            finally
            {
                File.Delete(path);
            }
        }
        var readers = targets.SelectMany(t => t.Activations.Select(a => (a, t.Node))).GroupBy(p => p.a)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<string>)[.. g.Select(p => p.Node)]);
        return new EncoderQuantizeReport
        {
            Model = modelPath,
            Output = outputPath,
            Calibration = calibrationSource,
            CalibrationInputs = calibration.Count,
            Method = options.Method,
            Percentile = options.Percentile,
            WeightBits = options.WeightBits,
            ActivationMatMuls = options.ActivationMatMuls,
            Operators = [.. options.Operators.Order(StringComparer.Ordinal)],
            Activations = [.. activations.Select(a => new ActivationScale(a, readers[a], histograms[a].Max, histograms[a].Percentile(options.Percentile),
                chosenScales[a]))],
            Weights = weights,
            OutputError = errors,
        };
    }

    private static ActivationRangeMethod Other(ActivationRangeMethod m) =>
        m == ActivationRangeMethod.MinMax ? ActivationRangeMethod.Percentile : ActivationRangeMethod.MinMax;

    // Symmetric int8: [-range, range] onto [-127, 127]; a tensor that was always 0 still needs a positive scale.
    private static float Scale(double range) => range > 0 ? (float)(range / 127) : 1f;

    private static void Check(OnnxModelFile model)
    {
        if (model.OnnxOpset < MinimumOpset)
        {
            throw new EdgeAvsrException($"{model.Source}: ONNX opset {model.OnnxOpset}; per-channel DequantizeLinear needs opset >= {MinimumOpset} " +
                "(re-export with opset_version=13 or later)");
        }
        if (model.Graph.Initializers.FirstOrDefault(i => i.IsExternal) is { } external)
        {
            throw new EdgeAvsrException($"{model.Source}: initializer '{external.Name}' lies in an external data file; " +
                "save the model as one file (onnx.save(..., save_as_external_data=False)) and quantize that");
        }
        if (model.Graph.Nodes.FirstOrDefault(n => n.OpType is "QuantizeLinear" or "DequantizeLinear" or "DynamicQuantizeLinear") is { } q)
        {
            throw new EdgeAvsrException($"{model.Source}: node '{q.Label}' is a {q.OpType}: the model is quantized already; give the float model");
        }
    }

    private static (double All, double Worst) Measure(string path, OnnxSessionOptions options, IReadOnlyList<IReadOnlyDictionary<string, OnnxTensor>> inputs,
        string outputName, List<float[]> reference)
    {
        using var session = OnnxSession.Create(path, options);
        double num = 0, den = 0, worst = 0;
        for (int i = 0; i < inputs.Count; i++)
        {
            float[] y = session.Run(inputs[i], [outputName])[0].Floats;
            float[] r = reference[i];
            double n = 0, d = 0;
            for (int j = 0; j < r.Length; j++)
            {
                double e = (double)y[j] - r[j];
                n += e * e;
                d += (double)r[j] * r[j];
            }
            num += n;
            den += d;
            worst = Math.Max(worst, d > 0 ? Math.Sqrt(n / d) : 0);
        }
        return (den > 0 ? Math.Sqrt(num / den) : 0, worst);
    }
}
