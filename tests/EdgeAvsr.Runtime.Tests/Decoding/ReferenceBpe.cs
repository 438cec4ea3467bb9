using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace EdgeAvsr.Runtime.Tests.Decoding;

/// <summary>
/// An independent byte-level BPE tokenizer over a Hugging Face tokenizer.json (the GPT-2 / Llama 3 scheme):
/// the pre-tokenizer's Split regex, bytes mapped to printable characters, merges applied by rank (lowest
/// first, all occurrences left to right), and <c>ignore_merges</c> (a pre-token that is itself in the
/// vocabulary is one token). Added tokens are not split out: test strings avoid them.
/// </summary>
internal sealed class ReferenceBpe
{
    private readonly Dictionary<string, int> _vocab = new(StringComparer.Ordinal);
    private readonly Dictionary<(string, string), int> _ranks = [];
    private readonly Regex _split;
    private readonly bool _ignoreMerges;
    private readonly string[] _byteChars = ByteChars();

    public ReferenceBpe(string tokenizerJson)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(tokenizerJson));
        var model = doc.RootElement.GetProperty("model");
        Assert.Equal("BPE", model.GetProperty("type").GetString());
        foreach (var p in model.GetProperty("vocab").EnumerateObject())
        {
            _vocab[p.Name] = p.Value.GetInt32();
        }
        int rank = 0;
        foreach (var m in model.GetProperty("merges").EnumerateArray())
        {
            (string, string) pair;
            if (m.ValueKind == JsonValueKind.String)
            {
                string s = m.GetString()!;
                int space = s.IndexOf(' ', StringComparison.Ordinal);
                pair = (s[..space], s[(space + 1)..]);
            }
            else
            {
                pair = (m[0].GetString()!, m[1].GetString()!);
            }
            _ranks.TryAdd(pair, rank++);
        }
        _ignoreMerges = model.TryGetProperty("ignore_merges", out var im) && im.ValueKind == JsonValueKind.True;
        _split = new Regex(FindSplitPattern(doc.RootElement.GetProperty("pre_tokenizer"))
            ?? throw new InvalidOperationException("no Split pre-tokenizer in " + tokenizerJson), RegexOptions.CultureInvariant);
    }

    public bool IgnoreMerges => _ignoreMerges;

    private static string? FindSplitPattern(JsonElement pre)
    {
        if (pre.ValueKind != JsonValueKind.Object)
        {
            return null;
        }
        if (pre.GetProperty("type").GetString() == "Split")
        {
            return pre.GetProperty("pattern").GetProperty("Regex").GetString();
        }
        if (pre.TryGetProperty("pretokenizers", out var list))
        {
            foreach (var p in list.EnumerateArray())
            {
                if (FindSplitPattern(p) is { } found)
                {
                    return found;
                }
            }
        }
        return null;
    }

    public int[] Encode(string text)
    {
        var ids = new List<int>();
        foreach (Match m in _split.Matches(text))
        {
            string word = string.Concat(Encoding.UTF8.GetBytes(m.Value).Select(b => _byteChars[b]));
            if (_ignoreMerges && _vocab.TryGetValue(word, out int whole))
            {
                ids.Add(whole);
                continue;
            }
            var symbols = new List<string>();
            var e = StringInfoChars(word);
            symbols.AddRange(e);
            while (symbols.Count > 1)
            {
                (string, string)? best = null;
                int bestRank = int.MaxValue;
                for (int i = 0; i + 1 < symbols.Count; i++)
                {
                    if (_ranks.TryGetValue((symbols[i], symbols[i + 1]), out int r) && r < bestRank)
                    {
                        bestRank = r;
                        best = (symbols[i], symbols[i + 1]);
                    }
                }
                if (best is null)
                {
                    break;
                }
                var merged = new List<string>(symbols.Count);
                for (int i = 0; i < symbols.Count; i++)
                {
                    if (i + 1 < symbols.Count && symbols[i] == best.Value.Item1 && symbols[i + 1] == best.Value.Item2)
                    {
                        merged.Add(symbols[i] + symbols[i + 1]);
                        i++;
                    }
                    else
                    {
                        merged.Add(symbols[i]);
                    }
                }
                symbols = merged;
            }
            foreach (string s in symbols)
            {
                ids.Add(_vocab.TryGetValue(s, out int id) ? id : throw new InvalidOperationException($"symbol '{s}' not in the vocabulary"));
            }
        }
        return [.. ids];
    }

    /// <summary>The mapped characters of a word (all in the BMP: the byte map uses U+0021..U+0143).</summary>
    private static IEnumerable<string> StringInfoChars(string word) => word.Select(ch => ch.ToString());

    /// <summary>GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the rest to U+0100 upwards.</summary>
    private static string[] ByteChars()
    {
        var map = new string[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = ((char)(printable ? b : next++)).ToString();
        }
        return map;
    }
}
