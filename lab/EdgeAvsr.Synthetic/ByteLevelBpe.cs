using System.Text;

namespace EdgeAvsr.Synthetic;

/// <summary>GPT-2 / Llama-3 byte-level BPE helpers: the byte-to-unicode table and a small BPE trainer.</summary>
public static class ByteLevelBpe
{
    private static readonly char[] s_byteToChar = BuildTable();

    /// <summary>The printable character GPT-2's byte-level BPE uses for byte <paramref name="b"/>.</summary>
    public static char ByteToChar(byte b) => s_byteToChar[b];

    /// <summary>Encodes UTF-8 bytes of <paramref name="text"/> as byte-level characters.</summary>
    public static string ToByteLevel(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sb = new StringBuilder();
        foreach (byte b in Encoding.UTF8.GetBytes(text))
        {
            sb.Append(s_byteToChar[b]);
        }
        return sb.ToString();
    }

    private static char[] BuildTable()
    {
        var table = new char[256];
        var printable = new bool[256];
        for (int b = '!'; b <= '~'; b++)
        {
            printable[b] = true;
        }
        for (int b = 0xA1; b <= 0xAC; b++)
        {
            printable[b] = true;
        }
        for (int b = 0xAE; b <= 0xFF; b++)
        {
            printable[b] = true;
        }
        int next = 0;
        for (int b = 0; b < 256; b++)
        {
            table[b] = printable[b] ? (char)b : (char)(256 + next++);
        }
        return table;
    }

    /// <summary>
    /// Splits text roughly as the Llama-3 pattern does for plain ASCII prose: an optional leading space
    /// followed by a run of letters, a run of up to 3 digits, or a run of other non-space characters.
    /// </summary>
    public static IEnumerable<string> PreTokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int i = 0;
        while (i < text.Length)
        {
            int start = i;
            if (text[i] == ' ' && i + 1 < text.Length && text[i + 1] != ' ')
            {
                i++;
            }
            char c = text[i];
            if (char.IsLetter(c))
            {
                while (i < text.Length && char.IsLetter(text[i]))
                {
                    i++;
                }
            }
            else if (char.IsDigit(c) && start == i)
            {
                int n = 0;
                while (i < text.Length && char.IsDigit(text[i]) && n < 3)
                {
                    i++;
                    n++;
                }
            }
            else if (char.IsWhiteSpace(c))
            {
                while (i < text.Length && char.IsWhiteSpace(text[i]))
                {
                    i++;
                }
            }
            else
            {
                while (i < text.Length && !char.IsWhiteSpace(text[i]) && !char.IsLetterOrDigit(text[i]))
                {
                    i++;
                }
            }
            yield return text[start..i];
        }
    }

    /// <summary>Learns up to <paramref name="mergeCount"/> merges from a corpus (most frequent pair first, ties by ordinal order).</summary>
    public static IReadOnlyList<(string Left, string Right)> Train(string corpus, int mergeCount)
    {
        var words = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string piece in PreTokenize(corpus))
        {
            string bl = ToByteLevel(piece);
            words[bl] = words.GetValueOrDefault(bl) + 1;
        }
        var split = words.Select(w => (Symbols: w.Key.Select(ch => ch.ToString()).ToList(), Count: w.Value)).ToList();
        var merges = new List<(string, string)>();
        for (int m = 0; m < mergeCount; m++)
        {
            var pairs = new Dictionary<(string, string), int>();
            foreach (var (symbols, count) in split)
            {
                for (int i = 0; i + 1 < symbols.Count; i++)
                {
                    var key = (symbols[i], symbols[i + 1]);
                    pairs[key] = pairs.GetValueOrDefault(key) + count;
                }
            }
            if (pairs.Count == 0)
            {
                break;
            }
            var best = pairs.OrderByDescending(p => p.Value)
                .ThenBy(p => p.Key.Item1, StringComparer.Ordinal)
                .ThenBy(p => p.Key.Item2, StringComparer.Ordinal)
                .First().Key;
            if (pairs[best] < 2)
            {
                break;
            }
            merges.Add(best);
            foreach (var (symbols, _) in split)
            {
                for (int i = 0; i + 1 < symbols.Count; i++)
                {
                    if (symbols[i] == best.Item1 && symbols[i + 1] == best.Item2)
                    {
                        symbols[i] = best.Item1 + best.Item2;
                        symbols.RemoveAt(i + 1);
                    }
                }
            }
        }
        return merges;
    }
}
