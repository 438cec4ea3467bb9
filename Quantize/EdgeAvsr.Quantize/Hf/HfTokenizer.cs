using System.Text.Json;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Quantize.Hf;

/// <summary>GGUF token types (llama.h <c>llama_token_type</c>).</summary>
public enum GgufTokenType
{
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
}

/// <summary>
/// A Llama-3 byte-level BPE tokenizer from tokenizer.json + tokenizer_config.json, in the form GGUF stores
/// it (tokenizer.ggml.model "gpt2", pre-tokenizer "llama-bpe"): tokens by id, their types, merges, BOS/EOS.
/// </summary>
public sealed class HfTokenizer
{
    /// <summary>The Llama-3 pre-tokenizer split pattern (tokenizer.json pre_tokenizer Split regex).</summary>
    public const string Llama3Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private HfTokenizer(string[] tokens, GgufTokenType[] types, string[] merges, int bos, int eos, bool addBos, bool addEos, string? chatTemplate)
    {
        Tokens = tokens;
        TokenTypes = types;
        Merges = merges;
        BosTokenId = bos;
        EosTokenId = eos;
        AddBos = addBos;
        AddEos = addEos;
        ChatTemplate = chatTemplate;
    }

    public IReadOnlyList<string> Tokens { get; }

    public IReadOnlyList<GgufTokenType> TokenTypes { get; }

    /// <summary>Merges as "left right", highest priority first.</summary>
    public IReadOnlyList<string> Merges { get; }

    public int BosTokenId { get; }

    public int EosTokenId { get; }

    public bool AddBos { get; }

    public bool AddEos { get; }

    public string? ChatTemplate { get; }

    /// <summary>Reads the tokenizer of a Hugging Face directory; <paramref name="vocabSize"/> is config.json's vocab_size.</summary>
    public static HfTokenizer Load(string directory, int vocabSize)
    {
        string tokPath = Path.Combine(directory, "tokenizer.json");
        string cfgPath = Path.Combine(directory, "tokenizer_config.json");
        using var tokJson = CheckedJson.Read(tokPath, lenient: true);
        using var cfgJson = CheckedJson.Read(cfgPath, lenient: true);
        var root = tokJson.Root;
        var cfg = cfgJson.Root;
        var model = tokJson.Child(root, "model");
        string? type = tokJson.OptionalString(model, "model.type");
        if (type != "BPE")
        {
            throw new EdgeAvsrException($"{tokPath}: model type '{type}' is not supported; Llama 3 uses a byte-level 'BPE' tokenizer");
        }
        CheckPreTokenizer(tokJson, root);

        var byId = new Dictionary<int, string>();
        var vocab = tokJson.Child(model, "model.vocab");
        foreach (var p in vocab.EnumerateObject())
        {
            int id = tokJson.IntValue(p.Value, $"model.vocab['{p.Name}']", min: 0);
            if (!byId.TryAdd(id, p.Name))
            {
                throw new EdgeAvsrException($"{tokPath}: token id {id} is used by both '{byId[id]}' and '{p.Name}'");
            }
        }
        var added = new Dictionary<int, bool>();
        if (CheckedJson.Find(root, "added_tokens") is { ValueKind: JsonValueKind.Array } addedTokens)
        {
            foreach (var t in addedTokens.EnumerateArray())
            {
                int id = tokJson.Int(t, "added_tokens[].id", min: 0);
                string content = tokJson.OptionalString(t, "added_tokens[].content")
                    ?? throw new EdgeAvsrException($"{tokPath}: added token {id} has no content");
                if (byId.TryGetValue(id, out string? existing) && existing != content)
                {
                    throw new EdgeAvsrException($"{tokPath}: added token {id} '{content}' conflicts with vocab token '{existing}'");
                }
                byId[id] = content;
                added[id] = tokJson.OptionalBool(t, "added_tokens[].special") ?? false;
            }
        }
        int maxId = byId.Count == 0 ? -1 : byId.Keys.Max();
        if (maxId >= vocabSize)
        {
            throw new EdgeAvsrException($"{tokPath}: token id {maxId} does not fit config.json vocab_size {vocabSize}");
        }
        var tokens = new string[vocabSize];
        var types = new GgufTokenType[vocabSize];
        for (int i = 0; i < vocabSize; i++)
        {
            if (!byId.TryGetValue(i, out string? tok))
            {
                tokens[i] = $"[PAD{i}]";
                types[i] = GgufTokenType.Unused;
            }
            else if (added.TryGetValue(i, out bool special))
            {
                bool control = special || LooksSpecial(tok);
                // User-defined tokens are stored pre-normalized (SentencePiece's U+2581 as a space), as llama.cpp expects.
                tokens[i] = control ? tok : tok.Replace('\u2581', ' ');
                types[i] = control ? GgufTokenType.Control : GgufTokenType.UserDefined;
            }
            else
            {
                tokens[i] = tok;
                types[i] = GgufTokenType.Normal;
            }
        }

        var mergesJson = tokJson.Array(model, "model.merges");
        var merges = new List<string>();
        foreach (var m in mergesJson.EnumerateArray())
        {
            string merge = m.ValueKind switch
            {
                JsonValueKind.String => m.GetString()!,
                JsonValueKind.Array when m.GetArrayLength() == 2 => $"{m[0].GetString()} {m[1].GetString()}",
                _ => throw new EdgeAvsrException($"{tokPath}: merge {m.GetRawText()} is neither \"a b\" nor [\"a\", \"b\"]"),
            };
            merges.Add(merge);
        }

        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = tokens.Length - 1; i >= 0; i--)
        {
            index[tokens[i]] = i;
        }
        int bos = SpecialId(cfgJson, cfg, "bos_token", index);
        int eos = SpecialId(cfgJson, cfg, "eos_token", index);
        bool addBos = cfgJson.OptionalBool(cfg, "add_bos_token") ?? TemplateStartsWith(CheckedJson.Find(root, "post_processor"), tokens[bos]);
        bool addEos = cfgJson.OptionalBool(cfg, "add_eos_token") ?? false;
        string? template = CheckedJson.Find(cfg, "chat_template") switch
        {
            null => null,
            { ValueKind: JsonValueKind.String } s => s.GetString(),
            { ValueKind: JsonValueKind.Array } a => a.EnumerateArray()
                .Where(e => cfgJson.OptionalString(e, "chat_template[].name") == "default")
                .Select(e => cfgJson.OptionalString(e, "chat_template[].template"))
                .FirstOrDefault(),
            var other => throw new EdgeAvsrException($"{cfgPath}: chat_template must be a string, found {other.Value.ValueKind}"),
        };
        return new HfTokenizer(tokens, types, [.. merges], bos, eos, addBos, addEos, template);
    }

    /// <summary>Appends tokens (the AVSR special tokens) after the base vocabulary as control tokens.</summary>
    public HfTokenizer WithAppendedControlTokens(IReadOnlyList<string> extra)
    {
        ArgumentNullException.ThrowIfNull(extra);
        return new HfTokenizer([.. Tokens, .. extra], [.. TokenTypes, .. extra.Select(_ => GgufTokenType.Control)], [.. Merges], BosTokenId,
            EosTokenId, AddBos, AddEos, ChatTemplate);
    }

    private static void CheckPreTokenizer(CheckedJson json, JsonElement root)
    {
        string path = json.Source;
        var pre = CheckedJson.Find(root, "pre_tokenizer")
            ?? throw new EdgeAvsrException($"{path}: pre_tokenizer is missing; expected Llama 3's Split + ByteLevel");
        bool split = false, byteLevel = false;
        IEnumerable<JsonElement> parts = json.OptionalString(pre, "pre_tokenizer.type") == "Sequence" && CheckedJson.Find(pre, "pretokenizers") is { } list
            ? list.EnumerateArray().ToArray()
            : [pre];
        foreach (var part in parts)
        {
            string? type = json.OptionalString(part, "pre_tokenizer.type");
            if (type == "Split" && CheckedJson.Find(part, "pattern") is { } pattern
                && json.OptionalString(pattern, "pre_tokenizer.pattern.Regex") == Llama3Pattern)
            {
                split = true;
            }
            else if (type == "ByteLevel")
            {
                byteLevel = true;
            }
        }
        if (!split || !byteLevel)
        {
            throw new EdgeAvsrException($"{path}: the pre-tokenizer is not Llama 3's (a Split with the Llama-3 regex and ByteLevel); only 'llama-bpe' " +
                "tokenizers are supported");
        }
    }

    private static int SpecialId(CheckedJson json, JsonElement cfg, string key, Dictionary<string, int> index)
    {
        string path = json.Source;
        var v = CheckedJson.Find(cfg, key) ?? throw new EdgeAvsrException($"{path}: '{key}' is missing");
        string? content = v.ValueKind == JsonValueKind.Object ? json.OptionalString(v, key + ".content")
            : v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        if (content is null || !index.TryGetValue(content, out int id))
        {
            throw new EdgeAvsrException($"{path}: '{key}' {v.GetRawText()} is not a token of tokenizer.json");
        }
        return id;
    }

    private static bool TemplateStartsWith(JsonElement? processor, string bos)
    {
        if (processor is not { } p || p.ValueKind != JsonValueKind.Object)
        {
            return false;
        }
        if (p.TryGetProperty("type", out var t) && t.GetString() == "TemplateProcessing" && p.TryGetProperty("single", out var single)
            && single.GetArrayLength() > 0)
        {
            var first = single[0];
            return first.TryGetProperty("SpecialToken", out var st) && st.TryGetProperty("id", out var id) && id.GetString() == bos;
        }
        if (p.TryGetProperty("processors", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            return list.EnumerateArray().Any(e => TemplateStartsWith(e, bos));
        }
        return false;
    }

    /// <summary>convert_hf_to_gguf's heuristic for added tokens that are control tokens although not marked special.</summary>
    private static bool LooksSpecial(string token) =>
        token is "<pad>" or "<mask>" or "<2mass>" or "[@BOS@]"
        || (token.StartsWith("<|", StringComparison.Ordinal) && token.EndsWith("|>", StringComparison.Ordinal))
        || (token.StartsWith("<\uFF5C", StringComparison.Ordinal) && token.EndsWith("\uFF5C>", StringComparison.Ordinal))
        || token.StartsWith("<start_of_", StringComparison.Ordinal) || token.StartsWith("<end_of_", StringComparison.Ordinal);
}
