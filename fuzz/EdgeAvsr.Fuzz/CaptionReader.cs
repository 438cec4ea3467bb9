using System.Globalization;

namespace EdgeAvsr.Fuzz;

/// <summary>One cue read back from a caption file: start and end in seconds, the text lines joined by '\n'.</summary>
public sealed record CaptionCue(double Start, double End, string Text);

/// <summary>
/// Small, strict readers of SubRip and WebVTT, written from the formats' rules (not from our writer) so that a
/// transcript written by <see cref="Runtime.Pipeline.TranscriptWriter"/> can be read back independently. A line ends at
/// "\r\n", "\r" or "\n"; a blank line ends a cue; anything that breaks the format is a <see cref="FormatException"/>.
/// </summary>
public static class CaptionReader
{
    public static IReadOnlyList<CaptionCue> ReadSrt(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var blocks = Blocks(Lines(text));
        var cues = new List<CaptionCue>();
        foreach (var (first, lines) in blocks)
        {
            if (!int.TryParse(lines[0], NumberStyles.None, CultureInfo.InvariantCulture, out int number) || number != cues.Count + 1)
            {
                throw new FormatException($"SubRip line {first + 1}: '{lines[0]}' is not cue number {cues.Count + 1}");
            }
            if (lines.Count < 2)
            {
                throw new FormatException($"SubRip line {first + 2}: cue {number} has no timing line");
            }
            var (start, end) = Timing(lines[1], ',', first + 2);
            cues.Add(new CaptionCue(start, end, string.Join('\n', lines.Skip(2))));
        }
        return cues;
    }

    public static IReadOnlyList<CaptionCue> ReadVtt(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var lines = Lines(text);
        if (lines.Count == 0 || !(lines[0] == "WEBVTT" || lines[0].StartsWith("WEBVTT ", StringComparison.Ordinal)
            || lines[0].StartsWith("WEBVTT\t", StringComparison.Ordinal)))
        {
            throw new FormatException("WebVTT: the file does not start with 'WEBVTT'");
        }
        if (lines.Count > 1 && lines[1].Length != 0)
        {
            throw new FormatException("WebVTT line 2: the header must be followed by a blank line");
        }
        var cues = new List<CaptionCue>();
        foreach (var (first, block) in Blocks(lines.Skip(1).ToList()))
        {
            int at = first + 1;
            if (block[0].StartsWith("NOTE", StringComparison.Ordinal) && !block[0].Contains("-->", StringComparison.Ordinal))
            {
                continue;
            }
            // An optional cue identifier comes before the timing line.
            int timing = block[0].Contains("-->", StringComparison.Ordinal) ? 0 : 1;
            if (timing >= block.Count)
            {
                throw new FormatException($"WebVTT line {at + 1}: a block without a timing line");
            }
            var (start, end) = Timing(block[timing], '.', at + timing + 1);
            var textLines = block.Skip(timing + 1).ToList();
            int arrow = textLines.FindIndex(l => l.Contains("-->", StringComparison.Ordinal));
            if (arrow >= 0)
            {
                throw new FormatException($"WebVTT line {at + timing + 2 + arrow}: cue text holds '-->', which the format forbids");
            }
            cues.Add(new CaptionCue(start, end, string.Join('\n', textLines.Select((l, i) => CueText(l, at + timing + 2 + i)))));
        }
        return cues;
    }

    /// <summary>
    /// WebVTT cue text without markup: '&lt;' starts a tag, which our captions never hold, so a raw one is an error, and
    /// '&amp;' must start one of the character references the format names (&amp;amp; &amp;lt; &amp;gt; &amp;nbsp; &amp;lrm; &amp;rlm;).
    /// </summary>
    private static string CueText(string line, int lineNumber)
    {
        if (line.Contains('<', StringComparison.Ordinal))
        {
            throw new FormatException($"WebVTT line {lineNumber}: '<' starts a tag; text must write it as &lt;");
        }
        var sb = new System.Text.StringBuilder(line.Length);
        for (int i = 0; i < line.Length; i++)
        {
            if (line[i] != '&')
            {
                sb.Append(line[i]);
                continue;
            }
            int semicolon = line.IndexOf(';', i);
            string name = semicolon < 0 ? "" : line[(i + 1)..semicolon];
            sb.Append(name switch
            {
                "amp" => "&",
                "lt" => "<",
                "gt" => ">",
                "nbsp" => "\u00a0",
                "lrm" => "\u200e",
                "rlm" => "\u200f",
                _ => throw new FormatException($"WebVTT line {lineNumber}: '&' does not start a character reference; text must write it as &amp;"),
            });
            i = semicolon;
        }
        return sb.ToString();
    }

    private static List<string> Lines(string text)
    {
        var lines = new List<string>();
        int begin = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] is '\r' or '\n')
            {
                lines.Add(text[begin..i]);
                if (text[i] == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
                {
                    i++;
                }
                begin = i + 1;
            }
        }
        if (begin < text.Length)
        {
            lines.Add(text[begin..]);
        }
        return lines;
    }

    /// <summary>Runs of non-blank lines, with the index of each run's first line.</summary>
    private static List<(int First, List<string> Lines)> Blocks(List<string> lines)
    {
        var blocks = new List<(int, List<string>)>();
        List<string>? current = null;
        for (int i = 0; i < lines.Count; i++)
        {
            if (lines[i].Length == 0)
            {
                current = null;
                continue;
            }
            if (current is null)
            {
                current = [];
                blocks.Add((i, current));
            }
            current.Add(lines[i]);
        }
        return blocks;
    }

    private static (double Start, double End) Timing(string line, char fraction, int lineNumber)
    {
        string[] parts = line.Split(" --> ");
        if (parts.Length != 2)
        {
            throw new FormatException($"line {lineNumber}: '{line}' is not a timing line (START --> END)");
        }
        double start = Timestamp(parts[0], fraction, lineNumber), end = Timestamp(parts[1].Split(' ')[0], fraction, lineNumber);
        if (end < start)
        {
            throw new FormatException($"line {lineNumber}: the cue ends before it starts");
        }
        return (start, end);
    }

    // HH:MM:SS,mmm (SubRip) or HH:MM:SS.mmm (WebVTT, whose hours may have more digits).
    private static double Timestamp(string text, char fraction, int lineNumber)
    {
        string[] hms = text.Split(':');
        string[] sm = hms.Length == 3 ? hms[2].Split(fraction) : [];
        if (hms.Length != 3 || sm.Length != 2 || hms[0].Length < 2 || hms[1].Length != 2 || sm[0].Length != 2 || sm[1].Length != 3
            || !int.TryParse(hms[0], NumberStyles.None, CultureInfo.InvariantCulture, out int h)
            || !int.TryParse(hms[1], NumberStyles.None, CultureInfo.InvariantCulture, out int m) || m > 59
            || !int.TryParse(sm[0], NumberStyles.None, CultureInfo.InvariantCulture, out int s) || s > 59
            || !int.TryParse(sm[1], NumberStyles.None, CultureInfo.InvariantCulture, out int ms))
        {
            throw new FormatException($"line {lineNumber}: '{text}' is not a timestamp HH:MM:SS{fraction}mmm");
        }
        return h * 3600 + m * 60 + s + ms / 1000.0;
    }
}
