using System.CommandLine;
using EdgeAvsr.Cli;
using EdgeAvsr.Quantize.Cli.Benchmarks;
using EdgeAvsr.Quantize.Conversion;
using EdgeAvsr.Runtime;

namespace EdgeAvsr.Quantize.Cli.Commands;

/// <summary><c>edgeavsr-quantize bench</c>: our quantizer vs llama_model_quantize on the same F32 GGUF.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var work = new Option<string>("--work-dir") { Description = "Folder for the generated model and outputs (needs ~8 GB for the 16-layer model)", DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "edgeavsr-quantize-bench") };
        var types = new Option<string>("--types") { Description = "Comma-separated file types", DefaultValueFactory = _ => "q8_0,q4_k_m" };
        var threads = new Option<int>("--threads") { Description = "Threads for both quantizers", DefaultValueFactory = _ => Environment.ProcessorCount };
        var reps = new Option<int>("--reps") { Description = "Interleaved repetitions (best time reported)", DefaultValueFactory = _ => 2 };
        var layers = new Option<int>("--layers") { Description = "Layers of the Llama-3.2-1B-shaped model (16 = the real depth)", DefaultValueFactory = _ => 16 };
        var keep = new Option<bool>("--keep") { Description = "Keep the generated F32 GGUF and the outputs" };
        var command = new Command("bench", "Quantize a Llama-3.2-1B-shaped model (seeded random weights) with EdgeAvsr and with llama_model_quantize; compare time and bytes");
        foreach (var o in new Option[] { work, types, threads, reps, layers, keep })
        {
            command.Options.Add(o);
        }
        command.SetAction(p => CliAction.Run(() =>
        {
            var list = p.GetValue(types)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(t => LlamaFileTypes.Parse(t, "--types")).ToList();
            if (p.GetValue(threads) < 1 || p.GetValue(reps) < 1 || p.GetValue(layers) is < 1 or > 512)
            {
                throw new EdgeAvsrException("--threads and --reps must be >= 1, --layers 1..512");
            }
            return QuantizeBenchmark.Run(p.GetValue(work)!, list, p.GetValue(threads), p.GetValue(reps), p.GetValue(keep), p.GetValue(layers));
        }));
        return command;
    }
}
