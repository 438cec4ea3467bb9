using System.Runtime.InteropServices;

namespace EdgeAvsr.Runtime.Interop.Llama;

/// <summary>llama_model_quantize_params of llama.cpp v0.5.0 (64 bytes; native-apis.md section 1).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct LlamaModelQuantizeParams
{
    public int NThread;
    public int FType;
    public int OutputTensorType;
    public int TokenEmbeddingType;
    public byte AllowRequantize;
    public byte QuantizeOutputTensor;
    public byte OnlyCopy;
    public byte Pure;
    public byte KeepSplit;
    public byte DryRun;
    public nint Imatrix;
    public nint KvOverrides;
    public nint TtOverrides;
    public nint PruneLayers;
    public nuint MaxBufSize;
}

/// <summary>
/// libllama's own GGUF quantizer (llama_model_quantize), the reference EdgeAvsr's quantizer is compared with
/// in tests and in <c>edgeavsr-quantize bench</c>. Starts from llama_model_quantize_default_params.
/// </summary>
public static unsafe class LlamaModelQuantizer
{
    /// <summary>Quantizes <paramref name="input"/> to <paramref name="output"/> with llama_ftype <paramref name="ftype"/>.</summary>
    public static void Quantize(string input, string output, int ftype, int threads)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        NativeEngines.InitializeLlama();
        var lib = NativeEngines.Llama;
        var p = DefaultParams();
        p.NThread = threads;
        p.FType = ftype;
        var quantize = (delegate* unmanaged[Cdecl]<byte*, byte*, LlamaModelQuantizeParams*, uint>)lib.GetExport("llama_model_quantize");
        byte[] i = System.Text.Encoding.UTF8.GetBytes(input + "\0");
        byte[] o = System.Text.Encoding.UTF8.GetBytes(output + "\0");
        uint status;
        fixed (byte* ip = i)
        fixed (byte* op = o)
        {
            status = quantize(ip, op, &p);
        }
        if (status != 0)
        {
            throw new EdgeAvsrException($"llama.cpp: llama_model_quantize({input} -> {output}, ftype {ftype}) failed with status {status}");
        }
    }

    /// <summary>The library's default parameters (read back for the ABI test).</summary>
    internal static LlamaModelQuantizeParams DefaultParams()
    {
        NativeEngines.InitializeLlama();
        return ((delegate* unmanaged[Cdecl]<LlamaModelQuantizeParams>)NativeEngines.Llama.GetExport("llama_model_quantize_default_params"))();
    }
}
