namespace EdgeAvsr.Runtime.Interop.Llama;

/// <summary>
/// The llama.h / ggml-backend.h functions EdgeAvsr calls, as unmanaged function pointers resolved once from
/// the libraries <see cref="NativeEngines.InitializeLlama"/> loaded (no static constructor, no DllImport:
/// <see cref="LlamaRuntime.Initialize"/> binds them explicitly). C bools are passed and returned as byte.
/// </summary>
internal static unsafe class LlamaApi
{
#pragma warning disable CA2211, IDE1006 // bound once under LlamaRuntime's lock, then read-only
    public static delegate* unmanaged[Cdecl]<LlamaModelParams> llama_model_default_params;
    public static delegate* unmanaged[Cdecl]<LlamaContextParams> llama_context_default_params;
    public static delegate* unmanaged[Cdecl]<LlamaSamplerChainParams> llama_sampler_chain_default_params;
    public static delegate* unmanaged[Cdecl]<delegate* unmanaged[Cdecl]<int, byte*, void*, void>, void*, void> llama_log_set;

    public static delegate* unmanaged[Cdecl]<byte*, LlamaModelParams, nint> llama_model_load_from_file;
    public static delegate* unmanaged[Cdecl]<nint, void> llama_model_free;
    public static delegate* unmanaged[Cdecl]<nint, LlamaContextParams, nint> llama_init_from_model;
    public static delegate* unmanaged[Cdecl]<nint, void> llama_free;

    public static delegate* unmanaged[Cdecl]<nint, nint> llama_model_get_vocab;
    public static delegate* unmanaged[Cdecl]<nint, int> llama_model_n_embd;
    public static delegate* unmanaged[Cdecl]<nint, int> llama_model_n_embd_inp;
    public static delegate* unmanaged[Cdecl]<nint, int> llama_model_n_layer;
    public static delegate* unmanaged[Cdecl]<nint, byte*, byte*, nuint, int> llama_model_meta_val_str;
    public static delegate* unmanaged[Cdecl]<nint, byte*, nuint, int> llama_model_desc;
    public static delegate* unmanaged[Cdecl]<nint, ulong> llama_model_size;

    public static delegate* unmanaged[Cdecl]<nint, int> llama_vocab_n_tokens;
    public static delegate* unmanaged[Cdecl]<nint, int> llama_vocab_bos;
    public static delegate* unmanaged[Cdecl]<nint, int> llama_vocab_eos;
    public static delegate* unmanaged[Cdecl]<nint, int, byte> llama_vocab_is_eog;
    public static delegate* unmanaged[Cdecl]<nint, int, byte*> llama_vocab_get_text;
    public static delegate* unmanaged[Cdecl]<nint, byte*, int, int*, int, byte, byte, int> llama_tokenize;
    public static delegate* unmanaged[Cdecl]<nint, int, byte*, int, int, byte, int> llama_token_to_piece;

    public static delegate* unmanaged[Cdecl]<int, int, int, LlamaBatchNative> llama_batch_init;
    public static delegate* unmanaged[Cdecl]<LlamaBatchNative, void> llama_batch_free;
    public static delegate* unmanaged[Cdecl]<nint, LlamaBatchNative, int> llama_decode;
    public static delegate* unmanaged[Cdecl]<nint, int, float*> llama_get_logits_ith;
    public static delegate* unmanaged[Cdecl]<nint, uint> llama_n_ctx;

    public static delegate* unmanaged[Cdecl]<nint, nint> llama_get_memory;
    public static delegate* unmanaged[Cdecl]<nint, byte, void> llama_memory_clear;
    public static delegate* unmanaged[Cdecl]<nint, int, int, int, byte> llama_memory_seq_rm;
    public static delegate* unmanaged[Cdecl]<nint, int, int, int, int, void> llama_memory_seq_cp;

    public static delegate* unmanaged[Cdecl]<LlamaSamplerChainParams, nint> llama_sampler_chain_init;
    public static delegate* unmanaged[Cdecl]<nint, nint, void> llama_sampler_chain_add;
    public static delegate* unmanaged[Cdecl]<nint> llama_sampler_init_greedy;
    public static delegate* unmanaged[Cdecl]<nint, nint, int, int> llama_sampler_sample;
    public static delegate* unmanaged[Cdecl]<nint, void> llama_sampler_free;

    public static delegate* unmanaged[Cdecl]<nuint> ggml_backend_dev_count;
    public static delegate* unmanaged[Cdecl]<nuint, nint> ggml_backend_dev_get;
    public static delegate* unmanaged[Cdecl]<nint, int> ggml_backend_dev_type;
    public static delegate* unmanaged[Cdecl]<nint, byte*> ggml_backend_dev_name;
    public static delegate* unmanaged[Cdecl]<nint, byte*> ggml_backend_dev_description;
#pragma warning restore CA2211, IDE1006

    /// <summary>Resolves every pointer; a missing export names itself (wrong release).</summary>
    public static void Bind(LlamaLibrary lib)
    {
        llama_model_default_params = (delegate* unmanaged[Cdecl]<LlamaModelParams>)lib.GetExport("llama_model_default_params");
        llama_context_default_params = (delegate* unmanaged[Cdecl]<LlamaContextParams>)lib.GetExport("llama_context_default_params");
        llama_sampler_chain_default_params = (delegate* unmanaged[Cdecl]<LlamaSamplerChainParams>)lib.GetExport("llama_sampler_chain_default_params");
        llama_log_set = (delegate* unmanaged[Cdecl]<delegate* unmanaged[Cdecl]<int, byte*, void*, void>, void*, void>)lib.GetExport("llama_log_set");

        llama_model_load_from_file = (delegate* unmanaged[Cdecl]<byte*, LlamaModelParams, nint>)lib.GetExport("llama_model_load_from_file");
        llama_model_free = (delegate* unmanaged[Cdecl]<nint, void>)lib.GetExport("llama_model_free");
        llama_init_from_model = (delegate* unmanaged[Cdecl]<nint, LlamaContextParams, nint>)lib.GetExport("llama_init_from_model");
        llama_free = (delegate* unmanaged[Cdecl]<nint, void>)lib.GetExport("llama_free");

        llama_model_get_vocab = (delegate* unmanaged[Cdecl]<nint, nint>)lib.GetExport("llama_model_get_vocab");
        llama_model_n_embd = (delegate* unmanaged[Cdecl]<nint, int>)lib.GetExport("llama_model_n_embd");
        llama_model_n_embd_inp = (delegate* unmanaged[Cdecl]<nint, int>)lib.GetExport("llama_model_n_embd_inp");
        llama_model_n_layer = (delegate* unmanaged[Cdecl]<nint, int>)lib.GetExport("llama_model_n_layer");
        llama_model_meta_val_str = (delegate* unmanaged[Cdecl]<nint, byte*, byte*, nuint, int>)lib.GetExport("llama_model_meta_val_str");
        llama_model_desc = (delegate* unmanaged[Cdecl]<nint, byte*, nuint, int>)lib.GetExport("llama_model_desc");
        llama_model_size = (delegate* unmanaged[Cdecl]<nint, ulong>)lib.GetExport("llama_model_size");

        llama_vocab_n_tokens = (delegate* unmanaged[Cdecl]<nint, int>)lib.GetExport("llama_vocab_n_tokens");
        llama_vocab_bos = (delegate* unmanaged[Cdecl]<nint, int>)lib.GetExport("llama_vocab_bos");
        llama_vocab_eos = (delegate* unmanaged[Cdecl]<nint, int>)lib.GetExport("llama_vocab_eos");
        llama_vocab_is_eog = (delegate* unmanaged[Cdecl]<nint, int, byte>)lib.GetExport("llama_vocab_is_eog");
        llama_vocab_get_text = (delegate* unmanaged[Cdecl]<nint, int, byte*>)lib.GetExport("llama_vocab_get_text");
        llama_tokenize = (delegate* unmanaged[Cdecl]<nint, byte*, int, int*, int, byte, byte, int>)lib.GetExport("llama_tokenize");
        llama_token_to_piece = (delegate* unmanaged[Cdecl]<nint, int, byte*, int, int, byte, int>)lib.GetExport("llama_token_to_piece");

        llama_batch_init = (delegate* unmanaged[Cdecl]<int, int, int, LlamaBatchNative>)lib.GetExport("llama_batch_init");
        llama_batch_free = (delegate* unmanaged[Cdecl]<LlamaBatchNative, void>)lib.GetExport("llama_batch_free");
        llama_decode = (delegate* unmanaged[Cdecl]<nint, LlamaBatchNative, int>)lib.GetExport("llama_decode");
        llama_get_logits_ith = (delegate* unmanaged[Cdecl]<nint, int, float*>)lib.GetExport("llama_get_logits_ith");
        llama_n_ctx = (delegate* unmanaged[Cdecl]<nint, uint>)lib.GetExport("llama_n_ctx");

        llama_get_memory = (delegate* unmanaged[Cdecl]<nint, nint>)lib.GetExport("llama_get_memory");
        llama_memory_clear = (delegate* unmanaged[Cdecl]<nint, byte, void>)lib.GetExport("llama_memory_clear");
        llama_memory_seq_rm = (delegate* unmanaged[Cdecl]<nint, int, int, int, byte>)lib.GetExport("llama_memory_seq_rm");
        llama_memory_seq_cp = (delegate* unmanaged[Cdecl]<nint, int, int, int, int, void>)lib.GetExport("llama_memory_seq_cp");

        llama_sampler_chain_init = (delegate* unmanaged[Cdecl]<LlamaSamplerChainParams, nint>)lib.GetExport("llama_sampler_chain_init");
        llama_sampler_chain_add = (delegate* unmanaged[Cdecl]<nint, nint, void>)lib.GetExport("llama_sampler_chain_add");
        llama_sampler_init_greedy = (delegate* unmanaged[Cdecl]<nint>)lib.GetExport("llama_sampler_init_greedy");
        llama_sampler_sample = (delegate* unmanaged[Cdecl]<nint, nint, int, int>)lib.GetExport("llama_sampler_sample");
        llama_sampler_free = (delegate* unmanaged[Cdecl]<nint, void>)lib.GetExport("llama_sampler_free");

        ggml_backend_dev_count = (delegate* unmanaged[Cdecl]<nuint>)lib.GetExport("ggml_backend_dev_count");
        ggml_backend_dev_get = (delegate* unmanaged[Cdecl]<nuint, nint>)lib.GetExport("ggml_backend_dev_get");
        ggml_backend_dev_type = (delegate* unmanaged[Cdecl]<nint, int>)lib.GetExport("ggml_backend_dev_type");
        ggml_backend_dev_name = (delegate* unmanaged[Cdecl]<nint, byte*>)lib.GetExport("ggml_backend_dev_name");
        ggml_backend_dev_description = (delegate* unmanaged[Cdecl]<nint, byte*>)lib.GetExport("ggml_backend_dev_description");
    }
}
