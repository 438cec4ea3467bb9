using System.Text.RegularExpressions;
using EdgeAvsr.Runtime.Pipeline;

namespace EdgeAvsr.Serve.Tests;

public sealed partial class CueTextTests
{
    private static readonly string[] s_texts =
    [
        "plain words",
        "an arrow --> inside",
        "two\n\nparagraphs\r\nand a tab\there",
        "bell\u0007 and nul\u0000 and escape\u001b",
        "<b>tags</b> & ampersands",
        "---> long arrow",
        "42",
    ];

    private static CaptionRecord Final(long id, string text, string run, double start, double end, DateTimeOffset time) => new()
    {
        Id = id,
        Run = run,
        Utterance = (int)id,
        Final = true,
        Task = "asr",
        Start = start,
        End = end,
        Text = text,
        Time = time,
    };

    private static List<CaptionRecord> Finals()
    {
        var t0 = new DateTimeOffset(2026, 12, 7, 4, 0, 0, TimeSpan.Zero);
        // Run a's stream starts at t0 + 0.1 s; run b (a restart) counts from 0 again, starting at t0 + 100.1 s.
        return [.. s_texts.Select((text, i) => i < 4
            ? Final(i + 1, text, "a", i * 2.0, i * 2.0 + 1.5, t0.AddSeconds(i * 2.0 + 1.6))
            : Final(i + 1, text, "b", (i - 4) * 2.0, (i - 4) * 2.0 + 1.5, t0.AddSeconds(100 + (i - 4) * 2.0 + 1.6)))];
    }

    [GeneratedRegex(@"^(\d\d):(\d\d):(\d\d)([,.])(\d\d\d) --> (\d\d):(\d\d):(\d\d)[,.](\d\d\d)$")]
    private static partial Regex Timing();

    // A strict reader of both formats written from the specs: blocks split at blank lines, one timing line per cue.
    private static List<(string Timing, string Text)> ReadCues(string text, bool srt)
    {
        string body = text.Replace("\r\n", "\n", StringComparison.Ordinal);
        if (!srt)
        {
            Assert.StartsWith("WEBVTT\n\n", body, StringComparison.Ordinal);
            body = body["WEBVTT\n\n".Length..];
        }
        var cues = new List<(string, string)>();
        foreach (string block in body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var lines = block.Split('\n');
            int timing = srt ? 1 : 0;
            if (srt)
            {
                Assert.Equal((cues.Count + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), lines[0]);
            }
            Assert.Matches(Timing(), lines[timing]);
            Assert.Equal(timing + 2, lines.Length); // exactly one text line
            Assert.DoesNotContain("-->", lines[timing + 1], StringComparison.Ordinal);
            Assert.True(lines[timing + 1].All(c => !char.IsControl(c)), $"control character in cue text: {lines[timing + 1]}");
            cues.Add((lines[timing], lines[timing + 1]));
        }
        return cues;
    }

    [Theory]
    [InlineData(TranscriptFormat.Srt)]
    [InlineData(TranscriptFormat.Vtt)]
    public void Every_final_is_one_cue_whatever_its_text_holds(TranscriptFormat format)
    {
        var finals = Finals();
        string text = TranscriptWriter.Write(ServeEndpoints.CueTranscript(finals), format);
        var cues = ReadCues(text, format == TranscriptFormat.Srt);
        Assert.Equal(finals.Count, cues.Count);
        Assert.Equal("an arrow -> inside", cues[1].Text);
        Assert.Equal("two paragraphs and a tab here", cues[2].Text);
        Assert.Equal("bell and nul and escape", cues[3].Text);
        Assert.Equal(format == TranscriptFormat.Vtt ? "&lt;b>tags&lt;/b> &amp; ampersands" : "<b>tags</b> & ampersands", cues[4].Text);
        Assert.Equal("-> long arrow", cues[5].Text);
        Assert.Equal("42", cues[6].Text);
    }

    [Fact]
    public void Two_runs_share_one_timeline_placed_by_wall_clock()
    {
        var finals = Finals();
        string srt = TranscriptWriter.Write(ServeEndpoints.CueTranscript(finals), TranscriptFormat.Srt);
        var cues = ReadCues(srt, srt: true);
        Assert.Equal("00:00:00,000 --> 00:00:01,500", cues[0].Timing);
        Assert.Equal("00:00:02,000 --> 00:00:03,500", cues[1].Timing);
        // Run b's stream time 0 is 100 s after run a's on the wall clock.
        Assert.Equal("00:01:40,000 --> 00:01:41,500", cues[4].Timing);
        Assert.Equal("00:01:42,000 --> 00:01:43,500", cues[5].Timing);
    }
}
