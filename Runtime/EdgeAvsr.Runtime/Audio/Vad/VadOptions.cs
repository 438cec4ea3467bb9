namespace EdgeAvsr.Runtime.Audio.Vad;

/// <summary>A stretch of speech, in seconds from the start of the audio.</summary>
public readonly record struct SpeechSegment(double Start, double End)
{
    public double Duration => End - Start;
}

/// <summary>
/// How speech probabilities become segments (the usual Silero rule): speech starts at a window whose probability is
/// at least <see cref="Threshold"/>; it ends at the first window below <see cref="NegativeThreshold"/> after which
/// the probability stays low for <see cref="MinSilenceMs"/>; segments shorter than <see cref="MinSpeechMs"/> are
/// dropped; kept segments are widened by <see cref="SpeechPadMs"/> on each side (never overlapping).
/// </summary>
public sealed record VadOptions
{
    public const int SampleRate = 16000;

    public float Threshold { get; init; } = 0.5f;

    /// <summary>Below this a window counts as silence; default <see cref="Threshold"/> - 0.15.</summary>
    public float? NegativeThreshold { get; init; }

    public int MinSpeechMs { get; init; } = 250;

    public int MinSilenceMs { get; init; } = 100;

    public int SpeechPadMs { get; init; } = 30;

    /// <summary>Samples per model call at 16 kHz: 512, 1024 or 1536 (Silero's supported windows).</summary>
    public int WindowSamples { get; init; } = 512;

    internal float EffectiveNegativeThreshold => NegativeThreshold ?? Math.Max(0.01f, Threshold - 0.15f);

    internal void Validate()
    {
        if (!(Threshold > 0 && Threshold < 1))
        {
            throw new EdgeAvsrException($"VAD threshold {Threshold} must be between 0 and 1");
        }
        if (!(EffectiveNegativeThreshold > 0 && EffectiveNegativeThreshold <= Threshold))
        {
            throw new EdgeAvsrException($"VAD negative threshold {EffectiveNegativeThreshold} must be in (0, threshold {Threshold}]");
        }
        if (MinSpeechMs < 0 || MinSilenceMs < 0 || SpeechPadMs < 0)
        {
            throw new EdgeAvsrException("VAD durations (min speech, min silence, padding) must be >= 0 ms");
        }
        if (WindowSamples is not (512 or 1024 or 1536))
        {
            throw new EdgeAvsrException($"VAD window {WindowSamples} samples: Silero takes 512, 1024 or 1536 at 16 kHz");
        }
    }
}

/// <summary>Turns per-window speech probabilities into segments (<see cref="VadOptions"/>); pure, no model.</summary>
public static class VadSegmenter
{
    public static IReadOnlyList<SpeechSegment> Segments(ReadOnlySpan<float> probabilities, long totalSamples, VadOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        long window = options.WindowSamples;
        long minSpeech = (long)options.MinSpeechMs * VadOptions.SampleRate / 1000;
        long minSilence = (long)options.MinSilenceMs * VadOptions.SampleRate / 1000;
        long pad = (long)options.SpeechPadMs * VadOptions.SampleRate / 1000;
        float negative = options.EffectiveNegativeThreshold;

        var raw = new List<(long Start, long End)>();
        bool inSpeech = false;
        long start = 0, silenceStart = -1;
        for (int i = 0; i < probabilities.Length; i++)
        {
            long at = i * window;
            float p = probabilities[i];
            if (p >= options.Threshold)
            {
                silenceStart = -1;
                if (!inSpeech)
                {
                    inSpeech = true;
                    start = at;
                }
                continue;
            }
            if (inSpeech && p < negative)
            {
                if (silenceStart < 0)
                {
                    silenceStart = at;
                }
                if (at + window - silenceStart >= minSilence)
                {
                    if (silenceStart - start >= minSpeech)
                    {
                        raw.Add((start, silenceStart));
                    }
                    inSpeech = false;
                    silenceStart = -1;
                }
            }
        }
        if (inSpeech)
        {
            long end = silenceStart >= 0 ? silenceStart : totalSamples;
            if (end - start >= minSpeech)
            {
                raw.Add((start, end));
            }
        }

        // Pad each side, splitting the gap when two padded segments would overlap.
        var result = new List<SpeechSegment>(raw.Count);
        for (int i = 0; i < raw.Count; i++)
        {
            long s = raw[i].Start - pad, e = raw[i].End + pad;
            if (i > 0)
            {
                s = Math.Max(s, (raw[i - 1].End + raw[i].Start) / 2);
            }
            if (i + 1 < raw.Count)
            {
                e = Math.Min(e, (raw[i].End + raw[i + 1].Start) / 2);
            }
            s = Math.Max(0, s);
            e = Math.Min(totalSamples, e);
            result.Add(new SpeechSegment((double)s / VadOptions.SampleRate, (double)e / VadOptions.SampleRate));
        }
        return result;
    }
}
