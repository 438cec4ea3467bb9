using EdgeAvsr.Runtime.Interop;
using System.Text;
using EdgeAvsr.Runtime.Formats.Gguf;
using LLama.Exceptions;
using LLama.Native;

namespace EdgeAvsr.Runtime.Decoding;

/// <summary>
/// A llama.cpp model loaded from a GGUF: its widths, vocabulary, tokenizer and the AVSR special tokens.
/// The GGUF is checked in managed code first (llama.cpp aborts the process on some malformed files).
/// </summary>
public sealed class DecoderModel : IDisposable
{
    private readonly SafeLlamaModelHandle _handle;
    private readonly HashSet<int> _endOfGeneration;
    private AvsrSpecialTokens? _special;
    private Dictionary<string, int>? _avsrTokenIds;
    private HashSet<int>? _skipped;

    private DecoderModel(string path, SafeLlamaModelHandle handle, LlamaBackendChoice backend)
    {
        FilePath = path;
        _handle = handle;
        Backend = backend;
        var vocab = handle.Vocab;
        VocabularySize = vocab.Count;
        // LLamaSharp reads n_embd; for the Llama architecture the input rows have that width (n_embd_inp == n_embd).
        InputWidth = handle.EmbeddingSize;
        Bos = vocab.BOS is { } bos ? (int)bos : -1;
        Eos = vocab.EOS is { } eos ? (int)eos : -1;
        _endOfGeneration = [];
        for (int t = 0; t < VocabularySize; t++)
        {
            if (((LLamaToken)t).IsEndOfGeneration(vocab))
            {
                _endOfGeneration.Add(t);
            }
        }
    }

    public static DecoderModel Load(string path, LlamaBackendKind backend = LlamaBackendKind.Auto) => Load(path, backend, validated: false);

    /// <summary>
    /// Loads the model; unless <paramref name="validated"/> (the caller, e.g. <c>PackLoader.CheckDecoder</c>, ran the managed
    /// GGUF validator on this file already) the file must exist and pass <see cref="LlamaGgufValidator"/> first:
    /// llama.cpp aborts the process on some malformed files.
    /// </summary>
    internal static DecoderModel Load(string path, LlamaBackendKind backend, bool validated)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!validated)
        {
            if (!File.Exists(path))
            {
                throw new EdgeAvsrException($"{path}: model file not found");
            }
            LlamaGgufValidator.Validate(path);
        }
        LlamaEngine.Initialize();
        var choice = LlamaEngine.ChooseBackend(backend);
        var handle = LoadHandle(path, choice.Offload, vocabOnly: false);
        return new DecoderModel(path, handle, choice);
    }

    /// <summary>
    /// <c>llama_model_load_from_file</c> through LLamaSharp: every layer on the GPU devices when <paramref name="offload"/>,
    /// else none; a file llama.cpp refuses is an <see cref="EdgeAvsrException"/> quoting llama.cpp's reason.
    /// </summary>
    internal static SafeLlamaModelHandle LoadHandle(string path, bool offload, bool vocabOnly)
    {
        LlamaEngine.Initialize();
        var p = LLamaModelParams.Default();
        p.n_gpu_layers = offload ? -1 : 0;
        p.vocab_only = vocabOnly;
        LlamaLog.ClearRecent();
        try
        {
            return SafeLlamaModelHandle.LoadFromFile(path, p);
        }
        catch (Exception e) when (e is RuntimeError or InvalidOperationException)
        {
            string native = LlamaLog.RecentProblems();
            throw new EdgeAvsrException($"{path}: llama.cpp could not load the model ({(native.Length > 0 ? native : e.Message)})");
        }
    }

    public string FilePath { get; }

    public LlamaBackendChoice Backend { get; }

    public int VocabularySize { get; }

    /// <summary>Width of one input embedding row (n_embd): projector outputs must have it.</summary>
    public int InputWidth { get; }

    public int LayerCount => _handle.LayerCount;

    public string Description => _handle.Description;

    public ulong SizeBytes => _handle.SizeInBytes;

    /// <summary>Beginning-of-sequence token (-1 when the vocabulary has none).</summary>
    public int Bos { get; }

    /// <summary>End-of-sequence token (-1 when the vocabulary has none).</summary>
    public int Eos { get; }

    /// <summary>Tokens that end generation (<c>llama_vocab_is_eog</c>).</summary>
    public IReadOnlySet<int> EndOfGeneration => _endOfGeneration;

    public bool IsEndOfGeneration(int token) => _endOfGeneration.Contains(token);

    internal SafeLlamaModelHandle Handle => _handle;

    /// <summary>Plain text to token ids (no BOS, special-token text not parsed).</summary>
    public int[] Tokenize(string text) => Tokenize(_handle, text, addSpecial: false, parseSpecial: false);

    /// <summary>Tokenization with llama.cpp's options exposed (for tests and tools).</summary>
    public int[] Tokenize(string text, bool addSpecial, bool parseSpecial) => Tokenize(_handle, text, addSpecial, parseSpecial);

    /// <summary><c>llama_tokenize</c>; <paramref name="addSpecial"/> adds BOS if the model asks for it.</summary>
    internal static int[] Tokenize(SafeLlamaModelHandle handle, string text, bool addSpecial, bool parseSpecial)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = handle.Tokenize(text, addSpecial, parseSpecial, Encoding.UTF8);
        var ids = new int[tokens.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            ids[i] = (int)tokens[i];
        }
        return ids;
    }

    /// <summary>UTF-8 bytes of a token; control tokens render as nothing unless <paramref name="special"/>.</summary>
    public byte[] TokenBytes(int token, bool special = false)
    {
        Span<byte> buffer = stackalloc byte[64];
        uint n = _handle.TokenToSpan(token, buffer, 0, special);
        if (n > buffer.Length)
        {
            var large = new byte[n];
            n = _handle.TokenToSpan(token, large, 0, special);
            return large.AsSpan(0, (int)n).ToArray();
        }
        return buffer[..(int)n].ToArray();
    }

    /// <summary>
    /// The text a token renders as with special tokens shown (<c>llama_token_to_piece</c>, special = true): a control or
    /// user-defined token such as <c>&lt;audio&gt;</c> renders as itself.
    /// </summary>
    public string TokenText(int token) => Encoding.UTF8.GetString(TokenBytes(token, special: true));

    /// <summary>
    /// Token ids to text, special tokens skipped like HF <c>skip_special_tokens=True</c>: llama.cpp drops control
    /// tokens itself; the AVSR tokens (user-defined in the GGUF, which llama.cpp would print) are dropped here.
    /// </summary>
    public string Detokenize(IEnumerable<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        _skipped ??= AvsrTokenIds.Values.ToHashSet();
        var bytes = new List<byte>();
        foreach (int t in tokens)
        {
            if (!_skipped.Contains(t))
            {
                bytes.AddRange(TokenBytes(t));
            }
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    /// <summary>Ids of the AVSR token texts found in the vocabulary (one walk over it, shared by special-token lookup and detokenizing).</summary>
    private Dictionary<string, int> AvsrTokenIds => _avsrTokenIds ??= FindTokens(AvsrSpecialTokens.Texts);

    /// <summary>Ids of the vocabulary entries whose stored text is one of <paramref name="texts"/> (lowest id wins).</summary>
    private Dictionary<string, int> FindTokens(string[] texts)
    {
        var found = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int t = VocabularySize - 1; t >= 0; t--)
        {
            string text = TokenText(t);
            if (Array.IndexOf(texts, text) >= 0)
            {
                found[text] = t;
            }
        }
        return found;
    }

    /// <summary>
    /// The ids of <c>&lt;pad&gt; &lt;audio&gt; &lt;/audio&gt; &lt;video&gt; &lt;/video&gt;</c>: from the GGUF metadata keys
    /// <c>edgeavsr.{pad,audio_start,audio_end,video_start,video_end}_token_id</c> (written by edgeavsr-quantize) when
    /// present, else by looking the token texts up in the vocabulary; an error when absent.
    /// </summary>
    public AvsrSpecialTokens SpecialTokens => _special ??= ResolveSpecialTokens();

    private AvsrSpecialTokens ResolveSpecialTokens()
    {
        var byText = AvsrTokenIds;
        var ids = new int[AvsrSpecialTokens.Texts.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            var (name, _, key) = AvsrSpecialTokens.Table[i];
            string? recorded = MetadataString(key);
            if (recorded is not null && int.TryParse(recorded, System.Globalization.NumberStyles.Integer,
                System.Globalization.CultureInfo.InvariantCulture, out int id))
            {
                if ((uint)id >= (uint)VocabularySize)
                {
                    throw new EdgeAvsrException($"{FilePath}: metadata {key} = {id} is outside the vocabulary of {VocabularySize} tokens");
                }
                ids[i] = id;
            }
            else if (byText.TryGetValue(name, out id))
            {
                ids[i] = id;
            }
            else
            {
                throw new EdgeAvsrException($"{FilePath}: the vocabulary has no '{name}' token (an AVSR decoder GGUF made by edgeavsr-quantize from " +
                    "an AVSR checkpoint holds <pad>, <audio>, </audio>, <video>, </video>)");
            }
        }
        return AvsrSpecialTokens.FromIds(ids);
    }

    /// <summary>A scalar GGUF metadata value as text, or null when the key is absent.</summary>
    public string? MetadataString(string key) => _handle.MetadataValueByKey(key) is { } value ? Encoding.UTF8.GetString(value.Span) : null;

    public void Dispose() => _handle.Dispose();
}
