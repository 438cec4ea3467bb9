using EdgeAvsr.Runtime.Onnx;

namespace EdgeAvsr.Runtime.Audio.Vad;

/// <summary>
/// Speech segments from audio that arrives in pieces (a microphone): <see cref="Push"/> any number of 16 kHz samples
/// and get back the segments that became final; <see cref="Finish"/> at the end. Gives exactly the segments
/// <see cref="SileroVad.Detect"/> gives for the whole audio.
/// </summary>
public sealed class VadStream
{
    private readonly SileroVad _vad;
    private readonly SileroVadState _state = new();
    private readonly VadTracker _tracker;
    private readonly float[] _window;
    private int _filled;
    private long _samples;

    internal VadStream(SileroVad vad, VadOptions options)
    {
        _vad = vad;
        _tracker = new VadTracker(options);
        _window = new float[options.WindowSamples];
    }

    /// <summary>Samples consumed so far.</summary>
    public long Samples => _samples;

    /// <summary>
    /// Where the speech running now began (sample index, before padding), or null in silence: a live caller shows
    /// partial results for it while the segment is not final yet.
    /// </summary>
    public long? OpenSpeechStart => _tracker.OpenStart;

    /// <summary>A closed segment waits for its padded end to become final (the next <see cref="Push"/> calls return it).</summary>
    public bool HasPendingSegment => _tracker.HasPending;

    public IReadOnlyList<SpeechSegment> Push(ReadOnlySpan<float> samples16k)
    {
        var output = new List<SpeechSegment>();
        while (samples16k.Length > 0)
        {
            int n = Math.Min(samples16k.Length, _window.Length - _filled);
            samples16k[..n].CopyTo(_window.AsSpan(_filled));
            _filled += n;
            _samples += n;
            samples16k = samples16k[n..];
            if (_filled == _window.Length)
            {
                _tracker.Push(_vad.Step(_window, _state), output);
                _filled = 0;
            }
        }
        return output;
    }

    /// <summary>End of the audio: the last (zero-padded) window and every segment still open.</summary>
    public IReadOnlyList<SpeechSegment> Finish()
    {
        var output = new List<SpeechSegment>();
        if (_filled > 0)
        {
            Array.Clear(_window, _filled, _window.Length - _filled);
            _tracker.Push(_vad.Step(_window, _state), output);
            _filled = 0;
        }
        _tracker.Finish(_samples, output);
        return output;
    }
}
