using System.Runtime.InteropServices;
using EdgeAvsr.Runtime.Interop;

namespace EdgeAvsr.Quantize.Tests;

/// <summary>llama_model_params of llama.cpp v0.5.0 (80 bytes; native-apis.md section 1).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct LlamaModelParams
{
    public nint Devices;
    public nint TensorBuftOverrides;
    public int NGpuLayers;
    public int SplitMode;
    public int LoadMode;
    public int LazyMode;
    public int MainGpu;
    public nint TensorSplit;
    public nint ProgressCallback;
    public nint ProgressCallbackUserData;
    public nint KvOverrides;
    public byte VocabOnly;
    public byte CheckTensors;
    public byte UseExtraBufts;
    public byte NoHost;
    public byte NoAlloc;
    public byte LoadMtp;
}

/// <summary>The few libllama calls the quantizer tests need: load a model, read its sizes, free it.</summary>
internal static unsafe class LlamaNative
{
    public static void Init() => NativeEngines.InitializeLlama();

    /// <summary>Loads <paramref name="path"/> with libllama; returns (n_embd, n_vocab, n_params) or null when llama.cpp refuses it.</summary>
    public static (int Embd, int Vocab, ulong Params)? TryLoad(string path)
    {
        Init();
        var lib = NativeEngines.Llama;
        var defaults = (delegate* unmanaged[Cdecl]<LlamaModelParams>)lib.GetExport("llama_model_default_params");
        var load = (delegate* unmanaged[Cdecl]<byte*, LlamaModelParams, nint>)lib.GetExport("llama_model_load_from_file");
        var free = (delegate* unmanaged[Cdecl]<nint, void>)lib.GetExport("llama_model_free");
        var nEmbd = (delegate* unmanaged[Cdecl]<nint, int>)lib.GetExport("llama_model_n_embd");
        var nParams = (delegate* unmanaged[Cdecl]<nint, ulong>)lib.GetExport("llama_model_n_params");
        var getVocab = (delegate* unmanaged[Cdecl]<nint, nint>)lib.GetExport("llama_model_get_vocab");
        var nTokens = (delegate* unmanaged[Cdecl]<nint, int>)lib.GetExport("llama_vocab_n_tokens");
        var p = defaults();
        p.NGpuLayers = 0;
        byte[] utf8 = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        nint model;
        fixed (byte* s = utf8)
        {
            model = load(s, p);
        }
        if (model == 0)
        {
            return null;
        }
        try
        {
            return (nEmbd(model), nTokens(getVocab(model)), nParams(model));
        }
        finally
        {
            free(model);
        }
    }

    /// <summary>Tokenizes with the model's vocabulary (vocab-only load).</summary>
    public static int[] Tokenize(string path, string text, bool addSpecial, bool parseSpecial = false)
    {
        Init();
        var lib = NativeEngines.Llama;
        var defaults = (delegate* unmanaged[Cdecl]<LlamaModelParams>)lib.GetExport("llama_model_default_params");
        var load = (delegate* unmanaged[Cdecl]<byte*, LlamaModelParams, nint>)lib.GetExport("llama_model_load_from_file");
        var free = (delegate* unmanaged[Cdecl]<nint, void>)lib.GetExport("llama_model_free");
        var getVocab = (delegate* unmanaged[Cdecl]<nint, nint>)lib.GetExport("llama_model_get_vocab");
        var tokenize = (delegate* unmanaged[Cdecl]<nint, byte*, int, int*, int, byte, byte, int>)lib.GetExport("llama_tokenize");
        var p = defaults();
        p.VocabOnly = 1;
        byte[] utf8 = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        nint model;
        fixed (byte* s = utf8)
        {
            model = load(s, p);
        }
        Assert.NotEqual(0, model);
        try
        {
            byte[] t = System.Text.Encoding.UTF8.GetBytes(text);
            var ids = new int[t.Length + 8];
            int n;
            fixed (byte* tp = t)
            fixed (int* ip = ids)
            {
                n = tokenize(getVocab(model), tp, t.Length, ip, ids.Length, (byte)(addSpecial ? 1 : 0), (byte)(parseSpecial ? 1 : 0));
            }
            Assert.True(n >= 0);
            return ids[..n];
        }
        finally
        {
            free(model);
        }
    }

    /// <summary>Quantizes with libllama's own llama_model_quantize (the oracle); returns its status.</summary>
    public static uint Quantize(string input, string output, int ftype, int threads)
    {
        Init();
        var lib = NativeEngines.Llama;
        var defaults = (delegate* unmanaged[Cdecl]<QuantizeParams>)lib.GetExport("llama_model_quantize_default_params");
        var quantize = (delegate* unmanaged[Cdecl]<byte*, byte*, QuantizeParams*, uint>)lib.GetExport("llama_model_quantize");
        var p = defaults();
        p.NThread = threads;
        p.FType = ftype;
        byte[] i = System.Text.Encoding.UTF8.GetBytes(input + "\0");
        byte[] o = System.Text.Encoding.UTF8.GetBytes(output + "\0");
        fixed (byte* ip = i)
        fixed (byte* op = o)
        {
            return quantize(ip, op, &p);
        }
    }
}

/// <summary>llama_model_quantize_params of llama.cpp v0.5.0 (64 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct QuantizeParams
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
