using System.CommandLine;
using System.Globalization;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Decoding;

namespace EdgeAvsr.Cli.Commands;

/// <summary><c>edgeavsr generate</c> (text prompt) and <c>edgeavsr decode</c> (AVSR prompt from projector tokens).</summary>
internal static class DecoderCommands
{
    private static readonly Option<string> s_model = new("--model") { Description = "Decoder GGUF (from edgeavsr-quantize llm)", Required = true };
    private static readonly Option<int> s_maxTokens = new("--max-tokens") { Description = "Most new tokens to generate (default 32, as the authors)", DefaultValueFactory = _ => 32 };
    private static readonly Option<int> s_beams = new("--beams") { Description = "1 = greedy; more = beam search as Hugging Face generate (the authors use 15)", DefaultValueFactory = _ => 1 };
    private static readonly Option<int> s_threads = new("--threads") { Description = "Worker threads (default: the cores available)", DefaultValueFactory = _ => 0 };
    private static readonly Option<bool> s_exact = new("--exact-numerics") { Description = "Exact numerics: flash attention off, F32 KV cache (verification runs)" };
    private static readonly Option<string> s_backend = new("--backend") { Description = "auto | cpu | cuda (cuda without a GPU is an error, never a silent CPU run)", DefaultValueFactory = _ => "auto" };
    private static readonly Option<string?> s_logitsOut = new("--logits-out") { Description = "Write the first step's logits here (.npy float32 [n_vocab])" };

    public static Command CreateGenerate()
    {
        var prompt = new Option<string>("--prompt") { Description = "Prompt text (BOS is added)", Required = true };
        var command = new Command("generate", "Generate text from a text prompt with the llama.cpp decoder; tokens print as they come");
        foreach (var o in new Option[] { s_model, prompt, s_maxTokens, s_beams, s_threads, s_exact, s_backend, s_logitsOut })
        {
            command.Options.Add(o);
        }
        command.SetAction(parse => CliAction.Run(() => Run(parse, new DecodeRequest
        {
            ModelPath = parse.GetValue(s_model)!,
            PromptText = parse.GetValue(prompt)!,
        })));
        return command;
    }

    public static Command CreateDecode()
    {
        var audio = new Option<string?>("--audio-tokens") { Description = "Audio tokens from edgeavsr project (.npy float32 [T, n_embd])" };
        var video = new Option<string?>("--video-tokens") { Description = "Video tokens from edgeavsr project (.npy float32 [T, n_embd])" };
        var task = new Option<string>("--task") { Description = "asr | vsr | avsr", Required = true };
        var command = new Command("decode", "Transcribe projector tokens: [BOS] <audio> A </audio> <video> V </video> prompt, then greedy or beam search");
        foreach (var o in new Option[] { s_model, audio, video, task, s_maxTokens, s_beams, s_threads, s_exact, s_backend, s_logitsOut })
        {
            command.Options.Add(o);
        }
        command.SetAction(parse => CliAction.Run(() => Run(parse, new DecodeRequest
        {
            ModelPath = parse.GetValue(s_model)!,
            Task = AvsrTasks.Parse(parse.GetValue(task)!, "--task"),
            AudioTokensPath = parse.GetValue(audio),
            VideoTokensPath = parse.GetValue(video),
        })));
        return command;
    }

    private static int Run(ParseResult parse, DecodeRequest request)
    {
        string backend = parse.GetValue(s_backend)!;
        request = request with
        {
            MaxNewTokens = parse.GetValue(s_maxTokens),
            Beams = parse.GetValue(s_beams),
            Threads = parse.GetValue(s_threads),
            ExactNumerics = parse.GetValue(s_exact),
            LogitsOutPath = parse.GetValue(s_logitsOut),
            Backend = LlamaBackendKinds.Parse(backend),
        };
        bool streaming = request.Beams == 1;
        var result = DecodeJob.Run(request, line => Console.Error.WriteLine(line), streaming ? t => Console.Out.Write(t.Text) : null);
        if (streaming)
        {
            Console.Out.WriteLine();
        }
        else
        {
            Console.Out.WriteLine(result.Text);
        }
        var t = result.Timings;
        double tokensPerSecond = t.GeneratedPositions / Math.Max(t.Generation.TotalSeconds, 1e-9);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{result.Tokens.Length} tokens ({(result.Stop == StopReason.EndOfGeneration ? "end of generation" : "max tokens")}), score {result.Score:F4}; prefill {t.PromptPositions} positions in {t.Prefill.TotalMilliseconds:F1} ms, generation {t.GeneratedPositions} positions in {t.Generation.TotalMilliseconds:F1} ms ({tokensPerSecond:F1}/s)"));
        return ExitCodes.Success;
    }
}
