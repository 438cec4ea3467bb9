using System.Runtime.InteropServices;
using EdgeAvsr.Runtime.Interop;
using LLama.Native;
using NativeDecodeResult = LLama.Native.DecodeResult;

namespace EdgeAvsr.Runtime.Decoding;

/// <summary>
/// libllama's own GGUF quantizer (<c>llama_model_quantize</c> through LLamaSharp's <see cref="LLama.LLamaQuantizer"/>), the
/// reference EdgeAvsr's quantizer is compared with in tests and in <c>edgeavsr-bench quantize</c>.
/// </summary>
public static class LlamaModelQuantizer
{
    /// <summary>Quantizes <paramref name="input"/> to <paramref name="output"/> with llama_ftype <paramref name="ftype"/>.</summary>
    public static void Quantize(string input, string output, int ftype, int threads)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        LlamaEngine.Initialize();
        LlamaLog.ClearRecent();
        bool ok;
        try
        {
            // llama_model_quantize_default_params has quantize_output_tensor = true; LLamaQuantizer's parameter defaults to false.
            ok = LLama.LLamaQuantizer.Quantize(input, output, (LLamaFtype)ftype, threads, allowRequantize: false, quantizeOutputTensor: true);
        }
        catch (ArgumentException e)
        {
            throw new EdgeAvsrException($"llama.cpp: llama_model_quantize({input} -> {output}): {e.Message}");
        }
        if (!ok)
        {
            string native = LlamaLog.RecentProblems();
            string reason = native.Length > 0 ? $" ({native})" : "";
            throw new EdgeAvsrException($"llama.cpp: llama_model_quantize({input} -> {output}, ftype {ftype}) failed{reason}");
        }
    }
}
