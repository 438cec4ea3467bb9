using System.CommandLine;
using EdgeAvsr.Cli;
using EdgeAvsr.Quantize.Onnx;
using EdgeAvsr.Runtime;

namespace EdgeAvsr.Quantize.Cli.Commands;

/// <summary><c>edgeavsr-quantize encoder</c>: float ONNX encoder to an INT8 QDQ encoder calibrated on media, with a report.</summary>
internal static class EncoderCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Float ONNX encoder (Models/encoders/export_encoder.py)", Required = true };
        var calibration = new Option<string>("--calibration")
        {
            Description = "Media folder: audio files and videos' audio tracks for an audio encoder; mouth-crop videos for a video encoder",
            Required = true,
        };
        var pack = new Option<string?>("--pack") { Description = "Model pack whose front-end settings to use (default: Whisper / AV-HuBERT defaults)" };
        var method = ChoiceOptions.Words("--method", "Activation ranges written: percentile | minmax (both are measured and reported)", "percentile",
            ("minmax", ActivationRangeMethod.MinMax), ("percentile", ActivationRangeMethod.Percentile));
        var percentile = new Option<double>("--percentile") { Description = "Percentile of |x| for --method percentile", DefaultValueFactory = _ => 99.99 };
        var bits = new Option<int>("--weight-bits")
        {
            Description = "8, or 7 to keep x86 u8s8 kernels without VNNI from saturating (see BENCHMARKS.md)",
            DefaultValueFactory = _ => 8,
        };
        var ops = new Option<string>("--ops")
        {
            Description = "Operators to quantize, comma-separated: matmul, gemm, conv (conv: for TensorRT; ORT's CPU runs QDQ convs in float)",
            DefaultValueFactory = _ => "matmul,gemm",
        };
        var attention = new Option<bool>("--quantize-attention") { Description = "Also quantize MatMuls of two activations (attention)" };
        var threads = CommonOptions.Threads("ONNX Runtime threads for calibration (default: one per core)", () => 0);
        var output = new Option<string>("--out") { Description = "INT8 ONNX encoder to write", Required = true };
        var report = new Option<string?>("--report") { Description = "JSON report to write (scales per layer, output error)" };
        var command = new Command("encoder", "Quantize an ONNX encoder to INT8 (QDQ: per-channel weights, per-tensor symmetric activations)");
        foreach (var o in new Option[] { model, calibration, pack, method, percentile, bits, ops, attention, threads, output, report })
        {
            command.Options.Add(o);
        }
        CommandActions.Set(command, p =>
        {
            var options = new EncoderQuantizeOptions
            {
                Method = p.GetValue(method),
                Percentile = p.GetValue(percentile),
                WeightBits = p.GetValue(bits) is 7 or 8 ? p.GetValue(bits) : throw new EdgeAvsrException("--weight-bits must be 8 or 7"),
                ActivationMatMuls = p.GetValue(attention),
                Operators = ParseOperators(p.GetValue(ops)!),
                Threads = p.GetValue(threads) >= 0 ? p.GetValue(threads) : throw new EdgeAvsrException("--threads must be >= 0"),
                Log = Console.WriteLine,
            };
            var result = EncoderMediaQuantizer.Quantize(p.GetValue(model)!, p.GetValue(calibration)!, p.GetValue(pack), p.GetValue(output)!, options);
            if (p.GetValue(report) is { } path)
            {
                result.Write(path);
            }
            Console.Write(result.Describe());
            return ExitCodes.Success;
        });
        return command;
    }

    internal static HashSet<string> ParseOperators(string text)
    {
        var set = new HashSet<string>();
        foreach (string part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            set.Add(part.ToLowerInvariant() switch
            {
                "matmul" => "MatMul",
                "gemm" => "Gemm",
                "conv" => "Conv",
                _ => throw new EdgeAvsrException($"--ops '{part}' is not matmul, gemm or conv"),
            });
        }
        return set.Count > 0 ? set : throw new EdgeAvsrException("--ops is empty; list matmul, gemm, conv");
    }
}
