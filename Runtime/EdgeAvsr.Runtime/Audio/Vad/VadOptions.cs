namespace EdgeAvsr.Runtime.Audio.Vad;

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

/// <summary>
/// The segmentation rule as a state machine fed one window probability at a time, so that a stream gives exactly the
/// segments a whole file gives. A closed segment is held back until its padded end is final: until the next segment
/// starts (the padding of two close segments meets half way) or the position passes its end by two paddings.
/// </summary>
internal sealed class VadTracker
{
    private readonly VadOptions _options;
    private readonly long _window, _minSpeech, _minSilence, _pad;
    private readonly float _negative;
    private long _position;          // sample index of the next window
    private bool _inSpeech;
    private long _start, _silenceStart = -1;
    private (long Start, long End)? _pending;
    private long _previousRawEnd = -1;

    public VadTracker(VadOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _window = options.WindowSamples;
        _minSpeech = (long)options.MinSpeechMs * VadOptions.SampleRate / 1000;
        _minSilence = (long)options.MinSilenceMs * VadOptions.SampleRate / 1000;
        _pad = (long)options.SpeechPadMs * VadOptions.SampleRate / 1000;
        _negative = options.EffectiveNegativeThreshold;
    }

    /// <summary>The first sample of the speech running now (unpadded), or null in silence.</summary>
    public long? OpenStart => _inSpeech ? _start : null;

    /// <summary>A closed segment is held back until its padded end is final.</summary>
    public bool HasPending => _pending is not null;

    /// <summary>Consumes the next window's probability; appends any segment that became final.</summary>
    public void Push(float p, List<SpeechSegment> output)
    {
        long at = _position;
        _position += _window;
        if (p >= _options.Threshold)
        {
            _silenceStart = -1;
            if (!_inSpeech)
            {
                _inSpeech = true;
                _start = at;
                EmitPending(nextStart: at, total: long.MaxValue, output);
            }
        }
        else if (_inSpeech && p < _negative)
        {
            if (_silenceStart < 0)
            {
                _silenceStart = at;
            }
            if (_position - _silenceStart >= _minSilence)
            {
                Close(_silenceStart, output);
            }
        }
        if (_pending is { } q && !_inSpeech && _position >= q.End + 2 * _pad)
        {
            EmitPending(nextStart: long.MaxValue, total: long.MaxValue, output);
        }
    }

    /// <summary>End of audio (<paramref name="totalSamples"/> long): closes and emits what is left.</summary>
    public void Finish(long totalSamples, List<SpeechSegment> output)
    {
        if (_inSpeech)
        {
            Close(_silenceStart >= 0 ? _silenceStart : totalSamples, output);
        }
        EmitPending(nextStart: long.MaxValue, total: totalSamples, output);
    }

    private void Close(long end, List<SpeechSegment> output)
    {
        _inSpeech = false;
        _silenceStart = -1;
        if (end - _start < _minSpeech)
        {
            return;
        }
        EmitPending(nextStart: _start, total: long.MaxValue, output);
        _pending = (_start, end);
    }

    private void EmitPending(long nextStart, long total, List<SpeechSegment> output)
    {
        if (_pending is not { } q)
        {
            return;
        }
        long s = q.Start - _pad, e = q.End + _pad;
        if (_previousRawEnd >= 0)
        {
            s = Math.Max(s, (_previousRawEnd + q.Start) / 2);
        }
        if (nextStart != long.MaxValue)
        {
            e = Math.Min(e, (q.End + nextStart) / 2);
        }
        s = Math.Max(0, s);
        e = Math.Min(total, e);
        output.Add(new SpeechSegment((double)s / VadOptions.SampleRate, (double)e / VadOptions.SampleRate));
        _previousRawEnd = q.End;
        _pending = null;
    }
}
