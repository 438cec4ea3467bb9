using EdgeAvsr.Quantize.Conversion;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Interop;
using LLama;
using LLama.Native;

namespace EdgeAvsr.Quantize.Tests;

/// <summary>
/// llama.cpp's own llama_model_quantize (the pinned b10221 libllama of LLamaSharp.Backend.Cpu), through
/// LLamaSharp's LLamaQuantizer: the oracle of the quantizer identity tests.
/// </summary>
internal static class LlamaCppQuantizer
{
    private static readonly Lock s_gate = new();

    /// <summary>Loads libllama the one way the runtime does (LLamaSharp, the pinned build), once.</summary>
    private static void EnsureLoaded() => NativeEngines.InitializeLlama();

    /// <summary>The libllama / libggml files mapped into this process (Linux).</summary>
    public static IReadOnlyList<string> MappedEngineFiles() => [.. NativeEngines.MappedFiles("/libllama"), .. NativeEngines.MappedFiles("/libggml")];

    /// <summary>
    /// Quantizes <paramref name="input"/> to <paramref name="output"/> as llama-quantize would (output tensor
    /// quantized, no requantizing, no importance matrix); returns whether llama.cpp succeeded and what it logged.
    /// </summary>
    public static (bool Ok, string Log) Quantize(string input, string output, LlamaFileType type, int threads)
    {
        lock (s_gate)
        {
            EnsureLoaded();
            // llama.cpp logs every tensor and its fallback warnings: capture them for the test instead of stderr.
            var captured = new StringWriter();
            var (sink, level) = (LlamaLog.Sink, LlamaLog.MinimumLevel);
            (LlamaLog.Sink, LlamaLog.MinimumLevel) = (captured, LlamaLogLevel.Info);
            bool ok;
            try
            {
                ok = LLamaQuantizer.Quantize(input, output, (LLamaFtype)(int)type, threads, allowRequantize: false, quantizeOutputTensor: true);
            }
            finally
            {
                (LlamaLog.Sink, LlamaLog.MinimumLevel) = (sink, level);
            }
            return (ok, captured.ToString());
        }
    }
}
