using System.Globalization;
using System.Text.Json;
using EdgeAvsr.Fuzz;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Pipeline;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace EdgeAvsr.Runtime.Tests.Properties;

/// <summary>
/// Captions through the SubRip, WebVTT, JSON and text writers (<see cref="TranscriptWriter"/>), read back by the strict
/// <see cref="CaptionReader"/>, <see cref="JsonDocument"/> and a line split.
/// </summary>
public class CaptionProperties
{
    /// <summary>What a decoder may put in a caption: words, every line break .NET knows, "-->" and its longer cousins, control characters.</summary>
    private static readonly string[] s_pieces =
    [
        "hello", "wörld", "日本語", "🎙", "a", "1", " ", "  ", "\t", "\r", "\n", "\r\n", "\u2028", "\u2029", "\u0085", "\f", "\v", "-->", "--->", "-",
        ">", "--", "\u0001", "\u001b", "\0", "\u200b", "<b>", "&", "NOTE", "WEBVTT", "00:00:01,000 --> 00:00:02,000",
    ];

    public sealed record Segment(double Start, double End, string Text)
    {
        public override string ToString() => $"[{Start.ToString("R", CultureInfo.InvariantCulture)}, {End.ToString("R", CultureInfo.InvariantCulture)}] " +
            $"'{Gens.Describe(Text)}'";
    }

    private static readonly Gen<string> s_text = Gen.Choose(0, 8).SelectMany(n => Gen.ArrayOf(Gen.Elements(s_pieces), n)).Select(p => string.Concat(p));

    /// <summary>Start gaps and durations in milliseconds with a sub-millisecond part, so rounding to the formats' precision is exercised.</summary>
    private static readonly Gen<(double Gap, double Length)> s_timing =
        from gap in Gen.Frequency((4, Gen.Choose(0, 5_000)), (1, Gen.Choose(0, 40_000_000)))
        from length in Gen.Choose(0, 10_000)
        from fraction in Gen.Choose(0, 999)
        select (gap + fraction / 1000.0, (double)length + (999 - fraction) / 1000.0);

    private static readonly Gen<Segment[]> s_segments = Gen.Choose(0, 6).SelectMany(n => Gen.ArrayOf(Gen.Zip(s_text, s_timing), n)).Select(parts =>
    {
        double at = 0;
        var segments = new Segment[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            var (text, (gap, length)) = parts[i];
            at += gap / 1000;
            segments[i] = new Segment(at, at + length / 1000, text);
        }
        return segments;
    });

    private static Transcript Of(Segment[] segments) => new()
    {
        Model = "m", Task = AvsrTask.Avsr, TaskReason = "r", Media = "x.mp4", DurationSeconds = segments.Length == 0 ? 0 : segments[^1].End,
        MediaDecode = TimeSpan.Zero, Load = TimeSpan.Zero, Stages = StageTimings.Zero, Processing = TimeSpan.Zero, PeakMemoryBytes = 0,
        Segments = [.. segments.Select((s, i) => new Caption
        {
            Utterance = i, IsFinal = true, Task = AvsrTask.Avsr, Start = s.Start, End = s.End, DecidedAt = s.End, Text = s.Text, Tokens = [],
            AverageLogProbability = 0, Stop = StopReason.EndOfGeneration, AudioSamples = (0, 0), VideoFrames = (0, 0), Timings = StageTimings.Zero,
        })],
    };

    private static string[] Words(string text) => text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);

    /// <summary>What the writers document for "-->": broken up until none is left (so "--->" becomes "->", never "-->").</summary>
    private static string NoArrow(string word)
    {
        while (word.Contains("-->", StringComparison.Ordinal))
        {
            word = word.Replace("-->", "->", StringComparison.Ordinal);
        }
        return word;
    }

    /// <summary>
    /// SubRip and WebVTT: one cue per segment with anything visible (a non-whitespace character), in order; start and end
    /// equal to the segment's times rounded to the millisecond; the cue's words (whitespace-separated) are the segment's
    /// words with "-->" broken up, its lines non-blank and trimmed; the strict reader refuses nothing.
    /// </summary>
    [Property(MaxTest = 300, Replay = "(19190013,19190015)")]
    public Property SrtAndVtt_ReadBack_InOrder_WithTimesAndWords() => Prop.ForAll(Arb.From(s_segments), segments =>
    {
        var t = Of(segments);
        var visible = segments.Where(s => s.Text.Any(c => !char.IsWhiteSpace(c))).ToArray();
        foreach (var (name, cues) in new[] { ("srt", CaptionReader.ReadSrt(TranscriptWriter.Write(t, TranscriptFormat.Srt))),
            ("vtt", CaptionReader.ReadVtt(TranscriptWriter.Write(t, TranscriptFormat.Vtt))) })
        {
            Assert.True(visible.Length == cues.Count, $"{name}: {cues.Count} cues for {visible.Length} visible segments");
            for (int i = 0; i < cues.Count; i++)
            {
                Assert.Equal(Math.Round(visible[i].Start * 1000) / 1000, cues[i].Start, 6);
                Assert.Equal(Math.Round(visible[i].End * 1000) / 1000, cues[i].End, 6);
                Assert.Equal(Words(visible[i].Text).Select(NoArrow), Words(cues[i].Text));
                Assert.All(cues[i].Text.Split('\n'), line => Assert.True(line.Length > 0 && line == line.Trim(), $"{name}: line '{Gens.Describe(line)}'"));
            }
        }
    });

    /// <summary>
    /// JSON keeps every segment, empty or not, with its text exactly (control characters, line breaks, "-->" and all)
    /// and its times to 4 decimals; the plain text format gives one line per segment with the same words.
    /// </summary>
    [Property(MaxTest = 300, Replay = "(19190017,19190019)")]
    public Property JsonAndText_KeepEverySegment() => Prop.ForAll(Arb.From(s_segments), segments =>
    {
        var t = Of(segments);
        using var doc = JsonDocument.Parse(TranscriptWriter.Write(t, TranscriptFormat.Json));
        var read = doc.RootElement.GetProperty("segments").EnumerateArray().ToArray();
        Assert.Equal(segments.Length, read.Length);
        for (int i = 0; i < segments.Length; i++)
        {
            Assert.Equal(segments[i].Text, read[i].GetProperty("text").GetString());
            Assert.Equal(Math.Round(segments[i].Start, 4), read[i].GetProperty("start").GetDouble());
            Assert.Equal(Math.Round(segments[i].End, 4), read[i].GetProperty("end").GetDouble());
        }
        string text = TranscriptWriter.Write(t, TranscriptFormat.Text);
        Assert.DoesNotContain('\r', text);
        string[] lines = text.Split('\n');
        Assert.Equal(segments.Length + 1, lines.Length);
        Assert.Equal("", lines[^1]);
        for (int i = 0; i < segments.Length; i++)
        {
            Assert.Equal(Words(segments[i].Text), Words(lines[i]));
        }
    });
}
