using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using EdgeAvsr.Runtime.Decoding;

namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>A <see cref="Transcript"/> as plain text (one line per segment, line breaks inside a segment become spaces), JSON, SubRip or WebVTT.</summary>
public static class TranscriptWriter
{
    public static string Write(Transcript transcript, TranscriptFormat format)
    {
        ArgumentNullException.ThrowIfNull(transcript);
        return format switch
        {
            TranscriptFormat.Text => string.Concat(transcript.Segments.Select(s => s.Text.ReplaceLineEndings(" ") + "\n")),
            TranscriptFormat.Srt => Cues(transcript, header: "", srt: true),
            TranscriptFormat.Vtt => Cues(transcript, header: "WEBVTT\n\n", srt: false),
            _ => Json(transcript),
        };
    }

    /// <summary>HH:MM:SS,mmm (SubRip) or HH:MM:SS.mmm (WebVTT).</summary>
    public static string Timestamp(double seconds, bool srt)
    {
        long ms = (long)Math.Round(Math.Max(0, seconds) * 1000);
        return string.Create(CultureInfo.InvariantCulture, $"{ms / 3_600_000:00}:{ms / 60_000 % 60:00}:{ms / 1000 % 60:00}{(srt ? ',' : '.')}{ms % 1000:000}");
    }

    private static string Cues(Transcript t, string header, bool srt)
    {
        var sb = new StringBuilder(header);
        int index = 1;
        foreach (var s in t.Segments)
        {
            string text = CueText(s.Text);
            if (text.Length == 0)
            {
                continue;
            }
            if (!srt)
            {
                // WebVTT reads '&' as the start of a character reference and '<' as the start of a tag (SubRip has no escapes).
                text = text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal);
            }
            if (srt)
            {
                sb.Append(index.ToString(CultureInfo.InvariantCulture)).Append('\n');
            }
            sb.Append(Timestamp(s.Start, srt)).Append(" --> ").Append(Timestamp(s.End, srt)).Append('\n').Append(text).Append("\n\n");
            index++;
        }
        return sb.ToString();
    }

    /// <summary>
    /// Cue text both formats read back as written: a blank line ends a cue and "-->" marks a timing line, so the text is
    /// cut at every line break a reader may see (\r\n, \r, \n and the Unicode ones), its lines trimmed, blank ones dropped,
    /// and "-->" broken up until none is left ("--->" must not become "-->"). Empty when nothing visible remains: no cue.
    /// </summary>
    internal static string CueText(string text)
    {
        string joined = string.Join('\n', text.ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        while (joined.Contains("-->", StringComparison.Ordinal))
        {
            joined = joined.Replace("-->", "->", StringComparison.Ordinal);
        }
        return joined;
    }

    private static string Json(Transcript t)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("model", t.Model);
            w.WriteString("task", t.Task.ToText());
            w.WriteString("task_reason", t.TaskReason);
            w.WriteString("media", t.Media);
            w.WriteNumber("duration_seconds", Math.Round(t.DurationSeconds, 4));
            w.WriteStartArray("segments");
            foreach (var s in t.Segments)
            {
                w.WriteStartObject();
                w.WriteNumber("start", Math.Round(s.Start, 4));
                w.WriteNumber("end", Math.Round(s.End, 4));
                w.WriteString("text", s.Text);
                Pair(w, "audio_samples", s.AudioSamples);
                Pair(w, "video_frames", s.VideoFrames);
                w.WriteStartArray("tokens");
                foreach (int id in s.Tokens)
                {
                    w.WriteNumberValue(id);
                }
                w.WriteEndArray();
                w.WriteNumber("avg_logprob", Math.Round(s.AverageLogProbability, 6));
                w.WriteString("stop", s.Stop == StopReason.EndOfGeneration ? "end_of_generation" : "max_tokens");
                w.WriteStartObject("experts");
                Counts(w, "audio", s.AudioExperts);
                Counts(w, "video", s.VideoExperts);
                w.WriteEndObject();
                Timings(w, s.Timings, null, null);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            Timings(w, t.Stages, t.MediaDecode, t.Processing);
            w.WriteNumber("load_ms", Math.Round(t.Load.TotalMilliseconds, 1));
            w.WriteNumber("rtf", Math.Round(t.RealTimeFactor, 4));
            w.WriteNumber("peak_memory_bytes", t.PeakMemoryBytes);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    private static void Pair(Utf8JsonWriter w, string name, (long First, long Count) range)
    {
        w.WriteStartArray(name);
        w.WriteNumberValue(range.First);
        w.WriteNumberValue(range.Count);
        w.WriteEndArray();
    }

    private static void Counts(Utf8JsonWriter w, string name, int[]? counts)
    {
        if (counts is null)
        {
            return;
        }
        w.WriteStartArray(name);
        foreach (int c in counts)
        {
            w.WriteNumberValue(c);
        }
        w.WriteEndArray();
    }

    private static void Timings(Utf8JsonWriter w, StageTimings t, TimeSpan? media, TimeSpan? total)
    {
        w.WriteStartObject("timings_ms");
        if (media is { } m)
        {
            w.WriteNumber("media", Math.Round(m.TotalMilliseconds, 2));
        }
        w.WriteNumber("front_end", Math.Round(t.FrontEnd.TotalMilliseconds, 2));
        w.WriteNumber("encoders", Math.Round(t.Encoders.TotalMilliseconds, 2));
        w.WriteNumber("projector", Math.Round(t.Projector.TotalMilliseconds, 2));
        w.WriteNumber("prefill", Math.Round(t.Prefill.TotalMilliseconds, 2));
        w.WriteNumber("generation", Math.Round(t.Generation.TotalMilliseconds, 2));
        if (total is { } all)
        {
            w.WriteNumber("total", Math.Round(all.TotalMilliseconds, 2));
        }
        w.WriteEndObject();
    }
}
