using System.Runtime.InteropServices;
using System.Text;

namespace EdgeAvsr.Runtime.Interop.Llama;

/// <summary>Context settings EdgeAvsr exposes (everything else keeps llama.cpp's defaults).</summary>
public sealed record LlamaContextOptions
{
    /// <summary>KV-cache cells (rounded up by llama.cpp to a multiple of 256).</summary>
    public required int ContextSize { get; init; }

    /// <summary>Largest batch submitted to one decode call.</summary>
    public int BatchSize { get; init; } = 512;

    /// <summary>Distinct sequences (beams) the KV cache holds.</summary>
    public int Sequences { get; init; } = 1;

    /// <summary>Worker threads for generation and for batches.</summary>
    public required int Threads { get; init; }

    /// <summary>Flash attention off and an F32 KV cache: logits within ~1e-5 of an fp64 reference (slower).</summary>
    public bool ExactNumerics { get; init; }
}

/// <summary><c>llama_model*</c>: freed with <c>llama_model_free</c> once no context uses it.</summary>
public sealed unsafe class SafeLlamaModelHandle : SafeHandle
{
    private nint _vocab;

    private SafeLlamaModelHandle() : base(0, ownsHandle: true) { }

    public override bool IsInvalid => handle == 0;

    /// <summary>Loads a GGUF (already validated by the caller) on the chosen devices.</summary>
    public static SafeLlamaModelHandle Load(string path, LlamaBackendChoice backend, bool vocabOnly = false)
    {
        ArgumentNullException.ThrowIfNull(backend);
        LlamaRuntime.Initialize();
        var p = LlamaApi.llama_model_default_params();
        p.VocabOnly = vocabOnly ? (byte)1 : (byte)0;
        p.NGpuLayers = backend.OffloadDevices.Length == 0 ? 0 : -1;
        nint* devices = (nint*)NativeMemory.AllocZeroed((nuint)(backend.OffloadDevices.Length + 1), (nuint)sizeof(nint));
        byte[] utf8 = Encoding.UTF8.GetBytes(path + "\0");
        try
        {
            for (int i = 0; i < backend.OffloadDevices.Length; i++)
            {
                devices[i] = backend.OffloadDevices[i];
            }
            p.Devices = (nint)devices;
            LlamaLog.ClearRecent();
            nint model;
            fixed (byte* s = utf8)
            {
                model = LlamaApi.llama_model_load_from_file(s, p);
            }
            if (model == 0)
            {
                LlamaStatus.ThrowModelLoad(path);
            }
            var h = new SafeLlamaModelHandle();
            h.SetHandle(model);
            h._vocab = LlamaApi.llama_model_get_vocab(model);
            return h;
        }
        finally
        {
            NativeMemory.Free(devices);
        }
    }

    protected override bool ReleaseHandle()
    {
        LlamaApi.llama_model_free(handle);
        return true;
    }

    public int EmbeddingWidth => LlamaApi.llama_model_n_embd(handle);

    /// <summary>Width of an input embedding row (<c>llama_model_n_embd_inp</c>).</summary>
    public int InputEmbeddingWidth => LlamaApi.llama_model_n_embd_inp(handle);

    public int LayerCount => LlamaApi.llama_model_n_layer(handle);

    public int VocabularySize => LlamaApi.llama_vocab_n_tokens(_vocab);

    public int Bos => LlamaApi.llama_vocab_bos(_vocab);

    public int Eos => LlamaApi.llama_vocab_eos(_vocab);

    public ulong SizeBytes => LlamaApi.llama_model_size(handle);

    public bool IsEndOfGeneration(int token) => LlamaApi.llama_vocab_is_eog(_vocab, token) != 0;

    public string Description
    {
        get
        {
            byte* buf = stackalloc byte[256];
            int n = LlamaApi.llama_model_desc(handle, buf, 256);
            return n < 0 ? "" : Encoding.UTF8.GetString(buf, Math.Min(n, 255));
        }
    }

    /// <summary>The vocabulary entry of <paramref name="token"/> as stored in the GGUF (byte-level BPE form).</summary>
    public string? TokenText(int token) => NativeEngines.ReadUtf8(LlamaApi.llama_vocab_get_text(_vocab, token));

    /// <summary>A scalar GGUF metadata value as text, or null when the key is absent.</summary>
    public string? MetadataString(string key)
    {
        byte[] k = Encoding.UTF8.GetBytes(key + "\0");
        var buf = new byte[4096];
        fixed (byte* pk = k)
        fixed (byte* pb = buf)
        {
            int n = LlamaApi.llama_model_meta_val_str(handle, pk, pb, (nuint)buf.Length);
            return n < 0 ? null : Encoding.UTF8.GetString(buf, 0, Math.Min(n, buf.Length - 1));
        }
    }

    /// <summary><c>llama_tokenize</c>; <paramref name="addSpecial"/> adds BOS if the model asks for it.</summary>
    public int[] Tokenize(string text, bool addSpecial, bool parseSpecial)
    {
        ArgumentNullException.ThrowIfNull(text);
        byte[] utf8 = Encoding.UTF8.GetBytes(text);
        var tokens = new int[utf8.Length + 8];
        while (true)
        {
            int n;
            fixed (byte* s = utf8)
            fixed (int* t = tokens)
            {
                n = LlamaApi.llama_tokenize(_vocab, s, utf8.Length, t, tokens.Length, addSpecial ? (byte)1 : (byte)0, parseSpecial ? (byte)1 : (byte)0);
            }
            if (n == int.MinValue)
            {
                LlamaStatus.Throw("llama_tokenize", n, $"token count overflow for {utf8.Length} bytes of text");
            }
            if (n >= 0)
            {
                return tokens.AsSpan(0, n).ToArray();
            }
            tokens = new int[-n];
        }
    }

    /// <summary>The UTF-8 bytes a token stands for (<c>llama_token_to_piece</c>; special tokens rendered if asked).</summary>
    public byte[] TokenToPiece(int token, bool special)
    {
        var buf = new byte[64];
        while (true)
        {
            int n;
            fixed (byte* b = buf)
            {
                n = LlamaApi.llama_token_to_piece(_vocab, token, b, buf.Length, 0, special ? (byte)1 : (byte)0);
            }
            if (n >= 0)
            {
                return buf.AsSpan(0, n).ToArray();
            }
            buf = new byte[-n];
        }
    }
}

/// <summary><c>llama_context*</c>; holds a reference on its model so the weights outlive it.</summary>
public sealed unsafe class SafeLlamaContextHandle : SafeHandle
{
    private SafeLlamaModelHandle? _model;
    private nint _memory;

    private SafeLlamaContextHandle() : base(0, ownsHandle: true) { }

    public override bool IsInvalid => handle == 0;

    public static SafeLlamaContextHandle Create(SafeLlamaModelHandle model, LlamaContextOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        var p = LlamaApi.llama_context_default_params();
        p.NCtx = (uint)options.ContextSize;
        p.NBatch = (uint)options.BatchSize;
        p.NUbatch = (uint)options.BatchSize;
        p.NSeqMax = (uint)options.Sequences;
        p.NThreads = options.Threads;
        p.NThreadsBatch = options.Threads;
        // Beams share the prompt's cells: with a unified cache llama_memory_seq_cp only tags cells.
        p.KvUnified = options.Sequences > 1 ? (byte)1 : (byte)0;
        if (options.ExactNumerics)
        {
            p.FlashAttnType = LlamaEnums.FlashAttnDisabled;
            p.TypeK = LlamaEnums.GgmlTypeF32;
            p.TypeV = LlamaEnums.GgmlTypeF32;
        }
        var h = new SafeLlamaContextHandle();
        bool added = false;
        model.DangerousAddRef(ref added);
        try
        {
            LlamaLog.ClearRecent();
            nint ctx = LlamaStatus.CheckNotNull(LlamaApi.llama_init_from_model(model.DangerousGetHandle(), p), "llama_init_from_model",
                $"could not create a context of {options.ContextSize} cells x {options.Sequences} sequences");
            h.SetHandle(ctx);
            h._model = model;
            h._memory = LlamaApi.llama_get_memory(ctx);
            return h;
        }
        catch
        {
            if (added)
            {
                model.DangerousRelease();
            }
            throw;
        }
    }

    protected override bool ReleaseHandle()
    {
        LlamaApi.llama_free(handle);
        _model?.DangerousRelease();
        return true;
    }

    /// <summary>Cells of the KV cache actually allocated.</summary>
    public int ContextSize => (int)LlamaApi.llama_n_ctx(handle);

    public void Decode(LlamaBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        LlamaLog.ClearRecent();
        int status = LlamaApi.llama_decode(handle, batch.Native);
        LlamaStatus.CheckDecode(status, batch.Count);
    }

    /// <summary>Logits of output <paramref name="i"/> of the last decode (negative counts from the end); valid until the next decode.</summary>
    public ReadOnlySpan<float> Logits(int i, int vocabularySize)
    {
        float* p = LlamaApi.llama_get_logits_ith(handle, i);
        if (p is null)
        {
            LlamaStatus.Throw("llama_get_logits_ith", LlamaStatus.NullResult, $"no logits for output {i}");
        }
        return new ReadOnlySpan<float>(p, vocabularySize);
    }

    /// <summary>Greedy token of output <paramref name="i"/> chosen by a llama.cpp sampler chain.</summary>
    public int Sample(SafeLlamaSamplerHandle sampler, int i)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        return LlamaApi.llama_sampler_sample(sampler.DangerousGetHandle(), handle, i);
    }

    public void ClearMemory() => LlamaApi.llama_memory_clear(_memory, 1);

    /// <summary>Removes sequence <paramref name="seq"/>'s cells in [p0, p1) (negative: open end).</summary>
    public void RemoveSequence(int seq, int p0 = -1, int p1 = -1)
    {
        if (LlamaApi.llama_memory_seq_rm(_memory, seq, p0, p1) == 0)
        {
            LlamaStatus.Throw("llama_memory_seq_rm", 0, $"could not remove positions [{p0}, {p1}) of sequence {seq}");
        }
    }

    /// <summary>Makes <paramref name="destination"/> share <paramref name="source"/>'s cells (all positions).</summary>
    public void CopySequence(int source, int destination) => LlamaApi.llama_memory_seq_cp(_memory, source, destination, -1, -1);
}

/// <summary>A llama.cpp sampler chain (<c>llama_sampler*</c>), freed with <c>llama_sampler_free</c>.</summary>
public sealed class SafeLlamaSamplerHandle : SafeHandle
{
    private SafeLlamaSamplerHandle() : base(0, ownsHandle: true) { }

    public override bool IsInvalid => handle == 0;

    /// <summary>A chain holding only <c>llama_sampler_init_greedy</c> (argmax).</summary>
    public static unsafe SafeLlamaSamplerHandle CreateGreedyChain()
    {
        LlamaRuntime.Initialize();
        nint chain = LlamaStatus.CheckNotNull(LlamaApi.llama_sampler_chain_init(LlamaApi.llama_sampler_chain_default_params()), "llama_sampler_chain_init", "sampler chain");
        var h = new SafeLlamaSamplerHandle();
        h.SetHandle(chain);
        // The chain owns the samplers added to it.
        LlamaApi.llama_sampler_chain_add(chain, LlamaStatus.CheckNotNull(LlamaApi.llama_sampler_init_greedy(), "llama_sampler_init_greedy", "greedy sampler"));
        return h;
    }

    protected override unsafe bool ReleaseHandle()
    {
        LlamaApi.llama_sampler_free(handle);
        return true;
    }
}

/// <summary>
/// A <c>llama_batch</c> from <c>llama_batch_init</c>: either tokens or embedding rows (never both), each
/// entry with a position, one or more sequence ids and an output flag. Freed with <c>llama_batch_free</c>.
/// </summary>
public sealed unsafe class LlamaBatch : SafeHandle
{
    private LlamaBatchNative _batch;

    private LlamaBatch(int capacity, int embeddingWidth, int maxSequences) : base(0, ownsHandle: true)
    {
        LlamaRuntime.Initialize();
        _batch = LlamaApi.llama_batch_init(capacity, embeddingWidth, maxSequences);
        if (_batch.Pos is null || (embeddingWidth == 0 ? _batch.Token is null : _batch.Embd is null))
        {
            LlamaStatus.Throw("llama_batch_init", LlamaStatus.NullResult, $"batch of {capacity} entries");
        }
        SetHandle((nint)_batch.Pos);
        Capacity = capacity;
        EmbeddingWidth = embeddingWidth;
    }

    public static LlamaBatch ForTokens(int capacity, int maxSequences = 1) => new(capacity, 0, maxSequences);

    public static LlamaBatch ForEmbeddings(int capacity, int width, int maxSequences = 1) => new(capacity, width, maxSequences);

    public override bool IsInvalid => handle == 0;

    public int Capacity { get; }

    /// <summary>0 for a token batch, else the row width.</summary>
    public int EmbeddingWidth { get; }

    public int Count => _batch.NTokens;

    internal LlamaBatchNative Native => _batch;

    public void Clear() => _batch.NTokens = 0;

    public void AddToken(int token, int position, int sequence, bool output)
    {
        if (EmbeddingWidth != 0)
        {
            throw new InvalidOperationException("token added to an embedding batch");
        }
        int i = Next(position, sequence, output);
        _batch.Token[i] = token;
    }

    public void AddEmbedding(ReadOnlySpan<float> row, int position, int sequence, bool output)
    {
        if (row.Length != EmbeddingWidth)
        {
            throw new ArgumentException($"embedding row has {row.Length} values, the batch holds {EmbeddingWidth}", nameof(row));
        }
        int i = Next(position, sequence, output);
        row.CopyTo(new Span<float>(_batch.Embd + (long)i * EmbeddingWidth, EmbeddingWidth));
    }

    private int Next(int position, int sequence, bool output)
    {
        int i = _batch.NTokens;
        if (i >= Capacity)
        {
            throw new InvalidOperationException($"batch full ({Capacity} entries)");
        }
        ArgumentOutOfRangeException.ThrowIfNegative(sequence);
        _batch.Pos[i] = position;
        _batch.NSeqId[i] = 1;
        _batch.SeqId[i][0] = sequence;
        _batch.Logits[i] = output ? (sbyte)1 : (sbyte)0;
        _batch.NTokens = i + 1;
        return i;
    }

    protected override bool ReleaseHandle()
    {
        LlamaApi.llama_batch_free(_batch);
        return true;
    }
}
