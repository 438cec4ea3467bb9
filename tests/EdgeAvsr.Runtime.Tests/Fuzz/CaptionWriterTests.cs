using EdgeAvsr.Fuzz;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Pipeline;

namespace EdgeAvsr.Runtime.Tests.Fuzz;

/// <summary>
/// Caption text that broke the SRT/VTT writers under fuzzing (fuzz/regressions/captions), read back by the independent
/// <see cref="CaptionReader"/>: a whitespace-only segment gave an empty cue, "\r\r" a blank line that ended the cue
/// early, "--->" became "-->" in WebVTT and "-->" stayed in SubRip.
/// </summary>
public class CaptionWriterTests
{
    private static Transcript Of(params string[] texts) => new()
    {
        Model = "m", Task = AvsrTask.Asr, TaskReason = "r", Media = "x.wav", DurationSeconds = texts.Length * 2, MediaDecode = TimeSpan.Zero,
        Load = TimeSpan.Zero, Stages = StageTimings.Zero, Processing = TimeSpan.Zero, PeakMemoryBytes = 0,
        Segments = [.. texts.Select((t, i) => new Caption
        {
            Utterance = i, IsFinal = true, Task = AvsrTask.Asr, Start = i * 2, End = i * 2 + 1.5, DecidedAt = i * 2 + 2, Text = t, Tokens = [],
            AverageLogProbability = 0, Stop = StopReason.EndOfGeneration, AudioSamples = (0, 0), VideoFrames = (0, 0), Timings = StageTimings.Zero,
        })],
    };

    [Theory]
    [InlineData(new[] { "hello", " ", "world" }, new[] { "hello", "world" })]
    [InlineData(new[] { "first", "a\r\rb", "after" }, new[] { "first", "a\nb", "after" })]
    [InlineData(new[] { "x --->y", "a\u2028\u2028b" }, new[] { "x ->y", "a\nb" })]
    [InlineData(new[] { "one\r\n\r\ntwo  ", "\n \n" }, new[] { "one\ntwo" })]
    public void Cues_ReadBackAsTheirVisibleLines_InBothFormats(string[] texts, string[] expected)
    {
        var t = Of(texts);
        foreach (var cues in new[] { CaptionReader.ReadSrt(TranscriptWriter.Write(t, TranscriptFormat.Srt)),
            CaptionReader.ReadVtt(TranscriptWriter.Write(t, TranscriptFormat.Vtt)) })
        {
            Assert.Equal(expected, cues.Select(c => c.Text));
            Assert.All(cues, c => Assert.DoesNotContain("-->", c.Text, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Reader_IsStrict_AboutWhatTheFormatsForbid()
    {
        Assert.Throws<FormatException>(() => CaptionReader.ReadVtt("WEBVTT\n\n00:00:00.000 --> 00:00:01.000\na --> b\n"));
        Assert.Throws<FormatException>(() => CaptionReader.ReadSrt("1\n00:00:00,000 --> 00:00:01,000\na\n\nb\n"));
        Assert.Throws<FormatException>(() => CaptionReader.ReadSrt("1\n00:00:02,000 --> 00:00:01,000\na\n"));
        var cues = CaptionReader.ReadSrt("1\r\n00:00:01,250 --> 00:01:02,500\r\nline one\r\nline two\r\n\r\n");
        Assert.Equal(new CaptionCue(1.25, 62.5, "line one\nline two"), Assert.Single(cues));
    }
}
