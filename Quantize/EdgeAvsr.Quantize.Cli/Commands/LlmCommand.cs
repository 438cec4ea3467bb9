using System.CommandLine;
using System.Diagnostics;
using EdgeAvsr.Quantize.Conversion;
using EdgeAvsr.Runtime;

namespace EdgeAvsr.Quantize.Cli.Commands;

/// <summary><c>edgeavsr-quantize llm</c>: Hugging Face Llama (+ LoRA / AVSR checkpoint) to one GGUF.</summary>
internal static class LlmCommand
{
    public static Command Create()
    {
        var hf = new Option<string>("--hf") { Description = "Hugging Face Llama directory (config.json, model.safetensors[.index.json], tokenizer.json, tokenizer_config.json)", Required = true };
        var type = new Option<string>("--type") { Description = "f32 | f16 | q8_0 | q4_0 | q4_k_m | q5_k_m | q6_k", Required = true };
        var output = new Option<string>("--out") { Description = "GGUF file to write", Required = true };
        var lora = new Option<string?>("--lora") { Description = "PEFT LoRA directory (adapter_model.safetensors + adapter_config.json) merged into the weights" };
        var checkpoint = new Option<string?>("--checkpoint") { Description = "AVSR checkpoint as safetensors (Models/convert_avsr_checkpoint.py): LLM weights under 'llm.', its LoRA merged" };
        var trainConfig = new Option<string?>("--train-config") { Description = "JSON with the checkpoint's training arguments (reduction_lora or rank, alpha)" };
        var threads = new Option<int>("--threads") { Description = "Worker threads", DefaultValueFactory = _ => Environment.ProcessorCount };
        var command = new Command("llm", "Convert a Hugging Face Llama (+ LoRA) to a GGUF for llama.cpp, quantized with ggml's reference quantizers");
        foreach (var o in new Option[] { hf, type, output, lora, checkpoint, trainConfig, threads })
        {
            command.Options.Add(o);
        }
        command.SetAction(p => QuantizeCliAction.Run(() =>
        {
            var request = new LlamaConversionRequest(p.GetValue(hf)!, p.GetValue(output)!, LlamaFileTypes.Parse(p.GetValue(type)!, "--type"))
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
            Console.WriteLine($"wrote {result.OutputPath}: {result.TensorCount} tensors, {LlamaGgufConverter.FormatBytes(result.FileBytes)}, {clock.Elapsed.TotalSeconds:F1} s");
            foreach (var (token, id) in result.AddedTokenIds)
            {
                Console.WriteLine($"  added token {token} = {id}");
            }
            return ExitCodes.Success;
        }));
        return command;
    }

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
            string line = $"\r[{new string('#', filled)}{new string('.', 30 - filled)}] {value.TensorsDone}/{value.TensorCount} tensors, {LlamaGgufConverter.FormatBytes(value.BytesDone)}/{LlamaGgufConverter.FormatBytes(value.TotalBytes)} {value.Current}";
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

/// <summary>User errors become one line on stderr and exit code 2.</summary>
internal static class QuantizeCliAction
{
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (EdgeAvsrException e)
        {
            Console.Error.WriteLine($"edgeavsr-quantize: {e.Message.ReplaceLineEndings(" ")}");
            return ExitCodes.InvalidInput;
        }
    }
}
