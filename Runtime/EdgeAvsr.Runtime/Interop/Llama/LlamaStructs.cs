using System.Runtime.InteropServices;

namespace EdgeAvsr.Runtime.Interop.Llama;

// Mirrors of llama.h (llama.cpp release v0.5.0, node-llama-cpp 3.22.1). Field order, types and
// padding follow the header exactly; LlamaAbiTests checks every size and offset against the values
// measured with offsetof (shared/docs/native-apis.md section 1) and reads the native defaults back.
// C bools are one byte: they are mirrored as byte, never as bool (which marshals as 4-byte BOOL).

/// <summary><c>struct llama_model_params</c> (80 bytes on 64-bit).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct LlamaModelParams
{
    public nint Devices;                  // ggml_backend_dev_t* (NULL-terminated) @0
    public nint TensorBuftOverrides;      // @8
    public int NGpuLayers;                // @16
    public int SplitMode;                 // enum llama_split_mode @20
    public int LoadMode;                  // enum llama_load_mode @24
    public int LazyMode;                  // enum llama_lazy_mode @28
    public int MainGpu;                   // @32
    public nint TensorSplit;              // const float* @40
    public nint ProgressCallback;         // bool (*)(float, void*) @48
    public nint ProgressCallbackUserData; // @56
    public nint KvOverrides;              // @64
    public byte VocabOnly;                // @72
    public byte CheckTensors;             // @73
    public byte UseExtraBufts;            // @74
    public byte NoHost;                   // @75
    public byte NoAlloc;                  // @76
    public byte LoadMtp;                  // @77
}

/// <summary><c>struct llama_context_params</c> (160 bytes on 64-bit).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct LlamaContextParams
{
    public uint NCtx;               // @0
    public uint NBatch;             // @4
    public uint NUbatch;            // @8
    public uint NSeqMax;            // @12
    public uint NRsSeq;             // @16
    public uint NOutputsMax;        // @20
    public uint NOutputsMaxPerSeq;  // @24
    public int NThreads;            // @28
    public int NThreadsBatch;       // @32
    public int CtxType;             // enum llama_context_type @36
    public int RopeScalingType;     // @40
    public int PoolingType;         // @44
    public int AttentionType;       // @48
    public int FlashAttnType;       // enum llama_flash_attn_type @52
    public float RopeFreqBase;      // @56
    public float RopeFreqScale;     // @60
    public float YarnExtFactor;     // @64
    public float YarnAttnFactor;    // @68
    public float YarnBetaFast;      // @72
    public float YarnBetaSlow;      // @76
    public uint YarnOrigCtx;        // @80
    public float DefragThold;       // @84
    public nint CbEval;             // @88
    public nint CbEvalUserData;     // @96
    public int TypeK;               // enum ggml_type @104
    public int TypeV;               // enum ggml_type @108
    public nint AbortCallback;      // @112
    public nint AbortCallbackData;  // @120
    public byte Embeddings;         // @128
    public byte OffloadKqv;         // @129
    public byte NoPerf;             // @130
    public byte OpOffload;          // @131
    public byte SwaFull;            // @132
    public byte KvUnified;          // @133
    public nint Samplers;           // llama_sampler_seq_config* @136
    public nuint NSamplers;         // @144
    public nint CtxOther;           // llama_context* @152
}

/// <summary><c>struct llama_batch</c> (56 bytes): arrays allocated by <c>llama_batch_init</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct LlamaBatchNative
{
    public int NTokens;     // @0
    public int* Token;      // @8  (NULL for an embedding batch)
    public float* Embd;     // @16 (NULL for a token batch)
    public int* Pos;        // @24
    public int* NSeqId;     // @32
    public int** SeqId;     // @40
    public sbyte* Logits;   // @48 ("output" flags)
}

/// <summary><c>struct llama_sampler_chain_params</c> (1 byte).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct LlamaSamplerChainParams
{
    public byte NoPerf;
}

/// <summary>Values of llama.h / ggml.h enums used by EdgeAvsr.</summary>
internal static class LlamaEnums
{
    public const int FlashAttnDisabled = 0;
    public const int GgmlTypeF32 = 0;
    public const int GgmlTypeF16 = 1;
    public const int DeviceTypeCpu = 0;
    public const int DeviceTypeGpu = 1;
    public const int DeviceTypeIgpu = 2;
}
