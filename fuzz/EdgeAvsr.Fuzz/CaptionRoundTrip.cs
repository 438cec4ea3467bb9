using System.Text;
using System.Text.Json;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Pipeline;

namespace EdgeAvsr.Fuzz;

/// <summary>
/// Caption text from the fuzzer (segments split at byte 0x01: '-->', line breaks, control characters, anything) through
/// the SRT, WebVTT, JSON and text writers, read back by <see cref="CaptionReader"/>, JsonDocument and a line split.
/// A writer whose output does not read back as the segments it was given throws <see cref="InvalidDataException"/>:
/// a finding. The properties, independent of how the writers clean text:
/// SRT and VTT hold one cue per segment with visible text, in order, with its times, and the same words (whitespace
/// runs compared as one space, '-' and '>' left out), and no '-->' in any cue text;
/// JSON holds every segment's text exactly; plain text holds one line per segment.
/// </summary>
public static class CaptionRoundTrip
{
    private const int MaxSegments = 64;

    public static void Run(byte[] input)
    {
        ArgumentNullException.ThrowIfNull(input);
        string[] texts = Encoding.UTF8.GetString(input).Split('\u0001');
        var segments = texts.Take(MaxSegments).Select((text, i) => Segment(i, text)).ToList();
        var transcript = new Transcript
        {
            Model = "fuzz", Task = AvsrTask.Asr, TaskReason = "fuzz", Media = "fuzz.wav", DurationSeconds = segments.Count * 2.5, Segments = segments,
            MediaDecode = TimeSpan.Zero, Load = TimeSpan.Zero, Stages = StageTimings.Zero, Processing = TimeSpan.Zero, PeakMemoryBytes = 0,
        };
        var visible = segments.Where(s => Words(s.Text).Length > 0).ToList();
        Check("SRT", CaptionReader.ReadSrt(TranscriptWriter.Write(transcript, TranscriptFormat.Srt)), visible);
        Check("VTT", CaptionReader.ReadVtt(TranscriptWriter.Write(transcript, TranscriptFormat.Vtt)), visible);

        using var json = JsonDocument.Parse(TranscriptWriter.Write(transcript, TranscriptFormat.Json));
        var read = json.RootElement.GetProperty("segments").EnumerateArray().Select(s => s.GetProperty("text").GetString()).ToList();
        if (!read.SequenceEqual(segments.Select(s => s.Text)))
        {
            throw new InvalidDataException("JSON: the segment texts do not read back exactly");
        }
        string plain = TranscriptWriter.Write(transcript, TranscriptFormat.Text);
        if (plain.Split('\n').Length != segments.Count + 1 || plain.Contains('\r', StringComparison.Ordinal))
        {
            throw new InvalidDataException($"text: {segments.Count} segments did not give {segments.Count} lines");
        }
    }

    private static Caption Segment(int index, string text) => new()
    {
        Utterance = index, IsFinal = true, Task = AvsrTask.Asr, Start = index * 2.5, End = index * 2.5 + 2.25, DecidedAt = index * 2.5 + 2.5,
        Text = text, Tokens = [], AverageLogProbability = 0, Stop = StopReason.EndOfGeneration, AudioSamples = (0, 0), VideoFrames = (0, 0),
        Timings = StageTimings.Zero,
    };

    private static string Words(string text) => string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    // '-' and '>' are left out of the comparison: "-->" must not reach a cue (it marks timing lines), however it is broken up.
    private static string Comparable(string text) => Words(text.Replace("-", "", StringComparison.Ordinal).Replace(">", "", StringComparison.Ordinal));

    private static void Check(string format, IReadOnlyList<CaptionCue> cues, List<Caption> expected)
    {
        if (cues.Count != expected.Count)
        {
            throw new InvalidDataException($"{format}: {cues.Count} cues read back, {expected.Count} segments with text written");
        }
        for (int i = 0; i < cues.Count; i++)
        {
            var (cue, segment) = (cues[i], expected[i]);
            if (Math.Abs(cue.Start - segment.Start) > 0.0005 || Math.Abs(cue.End - segment.End) > 0.0005)
            {
                throw new InvalidDataException($"{format}: cue {i + 1} reads back at {cue.Start}-{cue.End}, written {segment.Start}-{segment.End}");
            }
            if (Comparable(cue.Text) != Comparable(segment.Text) || cue.Text.Contains("-->", StringComparison.Ordinal))
            {
                throw new InvalidDataException($"{format}: cue {i + 1} reads back as '{cue.Text}', written '{segment.Text}'");
            }
        }
    }
}
