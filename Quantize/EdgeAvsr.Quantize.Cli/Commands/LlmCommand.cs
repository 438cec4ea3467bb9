using System.CommandLine;
using System.Diagnostics;
using EdgeAvsr.Cli;
using EdgeAvsr.Quantize.Conversion;
using EdgeAvsr.Runtime;

namespace EdgeAvsr.Quantize.Cli.Commands;

/// <summary><c>edgeavsr-quantize llm</c>: Hugging Face Llama (+ LoRA / AVSR checkpoint) to one GGUF.</summary>
internal static class LlmCommand
{
    public static Command Create()
    {
        var hf = new Option<string>("--hf")
        {
            Description = "Hugging Face Llama directory (config.json, model.safetensors[.index.json], tokenizer.json, tokenizer_config.json)",
            Required = true,
        };
        var type = FileTypeOption("--type");
        var output = new Option<string>("--out") { Description = "GGUF file to write", Required = true };
        var lora = new Option<string?>("--lora")
        {
            Description = "PEFT LoRA directory (adapter_model.safetensors + adapter_config.json) merged into the weights",
        };
        var checkpoint = new Option<string?>("--checkpoint")
        {
            Description = "AVSR checkpoint as safetensors (Models/convert_avsr_checkpoint.py): LLM weights under 'llm.', its LoRA merged",
        };
        var trainConfig = new Option<string?>("--train-config")
        {
            Description = "JSON with the checkpoint's training arguments (reduction_lora or rank, alpha)",
        };
        var threads = CommonOptions.Threads("Worker threads", () => Environment.ProcessorCount);
        var command = new Command("llm", "Convert a Hugging Face Llama (+ LoRA) to a GGUF for llama.cpp, quantized with ggml's reference quantizers");
        foreach (var o in new Option[] { hf, type, output, lora, checkpoint, trainConfig, threads })
        {
            command.Options.Add(o);
        }
        CommandActions.Set(command, p =>
        {
            var request = new LlamaConversionRequest(p.GetValue(hf)!, p.GetValue(output)!, p.GetValue(type))
            {
                LoraDirectory = p.GetValue(lora),
                CheckpointPath = p.GetValue(checkpoint),
                TrainConfigPath = p.GetValue(trainConfig),
                Threads = p.GetValue(threads) >= 1 ? p.GetValue(threads) : throw new EdgeAvsrException("--threads must be >= 1"),
            };
            var clock = Stopwatch.StartNew();
            using var bar = new ProgressBar();
            var result = LlamaGgufConverter.Convert(request, bar);
            bar.Finish();
            string size = LlamaGgufConverter.FormatBytes(result.FileBytes);
            Console.WriteLine($"wrote {result.OutputPath}: {result.TensorCount} tensors, {size}, {clock.Elapsed.TotalSeconds:F1} s");
            foreach (var (token, id) in result.AddedTokenIds)
            {
                Console.WriteLine($"  added token {token} = {id}");
            }
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>A GGUF file type, in the order the help lists them.</summary>
    internal static Option<LlamaFileType> FileTypeOption(string name) => ChoiceOptions.Of<LlamaFileType>(name,
        "f32 | f16 | q8_0 | q4_0 | q4_k_m | q5_k_m | q6_k",
        only: [LlamaFileType.F32, LlamaFileType.F16, LlamaFileType.Q8_0, LlamaFileType.Q4_0, LlamaFileType.Q4_K_M, LlamaFileType.Q5_K_M,
            LlamaFileType.Q6_K],
        oneOf: true);

    /// <summary>A one-line progress bar on stderr, drawn only when stderr is a terminal.</summary>
    private sealed class ProgressBar : IProgress<ConversionProgress>, IDisposable
    {
        private readonly bool _enabled = !Console.IsErrorRedirected;
        private long _lastDraw;
        private bool _drawn;

        public void Report(ConversionProgress value)
        {
            if (!_enabled)
            {
                return;
            }
            long now = Environment.TickCount64;
            if (value.TensorsDone != value.TensorCount && now - _lastDraw < 100)
            {
                return;
            }
            _lastDraw = now;
            double fraction = value.TotalBytes == 0 ? 1 : value.BytesDone / (double)value.TotalBytes;
            int filled = (int)(fraction * 30);
            string bar = new string('#', filled) + new string('.', 30 - filled);
            string bytes = $"{LlamaGgufConverter.FormatBytes(value.BytesDone)}/{LlamaGgufConverter.FormatBytes(value.TotalBytes)}";
            string line = $"\r[{bar}] {value.TensorsDone}/{value.TensorCount} tensors, {bytes} {value.Current}";
            Console.Error.Write(line.Length > 118 ? line[..118] : line.PadRight(118));
            _drawn = true;
        }

        public void Finish()
        {
            if (_drawn)
            {
                Console.Error.WriteLine();
                _drawn = false;
            }
        }

        public void Dispose() => Finish();
    }
}
