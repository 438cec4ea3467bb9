using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Quantize.Onnx;

/// <summary>
/// What <see cref="EncoderQuantizer"/> did: the calibration, per-layer scales, and the output error of the QDQ model
/// against the float model on the calibration inputs for both range methods (<c>||y_q - y||_2 / ||y||_2</c>, over all
/// inputs together and the worst single input).
/// </summary>
public sealed record EncoderQuantizeReport
{
    public required string Model { get; init; }

    public required string Output { get; init; }

    public required string Calibration { get; init; }

    public required int CalibrationInputs { get; init; }

    public required ActivationRangeMethod Method { get; init; }

    public required double Percentile { get; init; }

    public required int WeightBits { get; init; }

    public required bool ActivationMatMuls { get; init; }

    public required IReadOnlyList<string> Operators { get; init; }

    public required IReadOnlyList<ActivationScale> Activations { get; init; }

    public required IReadOnlyList<WeightScale> Weights { get; init; }

    /// <summary>Output relative L2 by method: (all inputs together, worst input).</summary>
    public required IReadOnlyDictionary<ActivationRangeMethod, (double All, double Worst)> OutputError { get; init; }

    public static string MethodText(ActivationRangeMethod m) => m == ActivationRangeMethod.MinMax ? "minmax" : "percentile";

    public string Describe()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{Output}: {Weights.Count} weights int{WeightBits} per channel, ")
            .Append(CultureInfo.InvariantCulture, $"{Activations.Count} activations int8 per tensor ")
            .Append(CultureInfo.InvariantCulture, $"({MethodText(Method)}), calibrated on {CalibrationInputs} input(s)\n");
        foreach (var (m, e) in OutputError.OrderBy(p => p.Key))
        {
            string written = m == Method ? " (written)" : "";
            sb.Append(CultureInfo.InvariantCulture, $"  output relative L2 vs fp32, {MethodText(m)}{written}: {e.All:E2} (worst input {e.Worst:E2})\n");
        }
        return sb.ToString();
    }

    public void Write(string path) => AtomicFile.Write(path, stream =>
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        w.WriteStartObject();
        w.WriteString("model", Model);
        w.WriteString("output", Output);
        w.WriteString("calibration", Calibration);
        w.WriteNumber("calibration_inputs", CalibrationInputs);
        w.WriteString("method", MethodText(Method));
        w.WriteNumber("percentile", Percentile);
        w.WriteNumber("weight_bits", WeightBits);
        w.WriteBoolean("activation_matmuls", ActivationMatMuls);
        w.WriteStartArray("operators");
        foreach (string op in Operators)
        {
            w.WriteStringValue(op);
        }
        w.WriteEndArray();
        w.WriteStartObject("output_relative_l2");
        foreach (var (m, e) in OutputError.OrderBy(p => p.Key))
        {
            w.WriteStartObject(MethodText(m));
            w.WriteNumber("all_inputs", e.All);
            w.WriteNumber("worst_input", e.Worst);
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.WriteStartArray("activations");
        foreach (var a in Activations)
        {
            w.WriteStartObject();
            w.WriteString("tensor", a.Tensor);
            w.WriteStartArray("nodes");
            foreach (string n in a.Nodes)
            {
                w.WriteStringValue(n);
            }
            w.WriteEndArray();
            w.WriteNumber("max_abs", a.MaxAbs);
            w.WriteNumber("percentile_abs", a.PercentileAbs);
            w.WriteNumber("scale", a.Scale);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("weights");
        foreach (var x in Weights)
        {
            w.WriteStartObject();
            w.WriteString("tensor", x.Tensor);
            w.WriteString("node", x.Node);
            w.WriteNumber("axis", x.Axis);
            w.WriteNumber("channels", x.Channels);
            w.WriteNumber("min_scale", x.MinScale);
            w.WriteNumber("max_scale", x.MaxScale);
            w.WriteNumber("relative_l2", x.RelativeL2);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    });
}
