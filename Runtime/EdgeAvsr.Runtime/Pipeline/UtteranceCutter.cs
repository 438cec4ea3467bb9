using EdgeAvsr.Runtime.Audio.Vad;

namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>
/// Turns speech segments (from the VAD, as they become final) and the speech running now into utterances: each closed
/// segment is a final utterance of at most <c>maxSamples</c> (a longer one is split into equal parts); speech still running
/// gets a partial utterance every <c>partialInterval</c> of stream time and is cut into a final one when it reaches the
/// maximum. Without audio (video only) the whole stream counts as running speech, so it is cut into windows of the
/// maximum. Pure stream-time logic: no clock, no model, so a test drives it sample by sample.
/// </summary>
public sealed class UtteranceCutter
{
    private readonly long _max, _min, _pad, _origin;
    private readonly long? _partialInterval;
    private long _cutAt;          // everything before this sample has been handed out in final utterances
    private long _nextPartial = -1;
    private long _openStart = -1;
    private int _nextId;
    private long _position;

    /// <param name="maxSamples">Longest utterance (the encoders take 30 s).</param>
    /// <param name="minSamples">Shorter leftovers are dropped (a forced cut can leave a sliver of speech).</param>
    /// <param name="padSamples">Padding before a running speech's first sample, as the VAD pads the segments it closes.</param>
    /// <param name="partialInterval">Stream time between partial utterances (samples); null for none.</param>
    /// <param name="origin">Stream sample where the cut stream begins: the VAD's segments count from here.</param>
    /// <param name="firstId">Number of the first utterance.</param>
    public UtteranceCutter(long maxSamples, long minSamples, long padSamples, long? partialInterval, long origin = 0, int firstId = 0)
    {
        if (maxSamples < 1 || minSamples < 1 || minSamples > maxSamples || padSamples < 0 || partialInterval is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(maxSamples), "need 1 <= min <= max, pad >= 0, partial interval >= 1");
        }
        _max = maxSamples;
        _min = minSamples;
        _pad = padSamples;
        _partialInterval = partialInterval;
        _origin = origin;
        _cutAt = origin;
        _position = origin;
        _nextId = firstId;
    }

    /// <summary>Everything before this sample is in final utterances already (a buffer may drop it).</summary>
    public long FinalizedUpTo => _cutAt;

    /// <summary>
    /// The stream has reached <paramref name="position"/>; <paramref name="closed"/> are the VAD segments that became final
    /// since the last call (in seconds from the origin, padded); <paramref name="openSpeechStart"/> is the stream sample where the running
    /// speech began, if any;
    /// <paramref name="segmentPending"/>: the VAD holds a closed segment back, so the running speech gets no partials until
    /// that segment's final has been handed out (ids stay in order: a partial is always of the next final).
    /// </summary>
    public void Advance(long position, IReadOnlyList<SpeechSegment> closed, long? openSpeechStart, List<UtteranceSpan> output, bool segmentPending = false)
    {
        ArgumentNullException.ThrowIfNull(closed);
        ArgumentNullException.ThrowIfNull(output);
        _position = Math.Max(_position, position);
        foreach (var segment in closed)
        {
            Close(_origin + StreamClock.Samples(segment.Start), _origin + StreamClock.Samples(segment.End), output);
        }
        if (openSpeechStart is not long raw || segmentPending)
        {
            _openStart = -1;
            return;
        }
        long start = Math.Max(_cutAt, Math.Max(_origin, raw - _pad));
        if (start != _openStart)
        {
            _openStart = start;
            _nextPartial = start + (_partialInterval ?? 0);
        }
        while (position - _openStart >= _max)
        {
            Emit(_openStart, _openStart + _max, final: true, output);
            _cutAt = _openStart + _max;
            _openStart = _cutAt;
            _nextPartial = _openStart + (_partialInterval ?? 0);
        }
        if (_partialInterval is long interval && position >= _nextPartial && position - _openStart >= _min)
        {
            Emit(_openStart, position, final: false, output);
            _nextPartial = Math.Max(_nextPartial + interval, position + 1);
        }
    }

    /// <summary>The stream ended at <paramref name="position"/>; <paramref name="closed"/> are the VAD's last segments.</summary>
    public void Finish(long position, IReadOnlyList<SpeechSegment> closed, List<UtteranceSpan> output)
    {
        Advance(position, closed, null, output);
    }

    /// <summary>Video only: everything up to <paramref name="position"/> is one running utterance.</summary>
    public void AdvanceWithoutVad(long position, List<UtteranceSpan> output) => Advance(position, [], _cutAt, output);

    /// <summary>Video only, end of stream: what is left is the last final utterance.</summary>
    public void FinishWithoutVad(long position, List<UtteranceSpan> output)
    {
        AdvanceWithoutVad(position, output);
        _position = Math.Max(_position, position);
        Close(_cutAt, position, output);
        _openStart = -1;
    }

    private void Close(long start, long end, List<UtteranceSpan> output)
    {
        start = Math.Max(start, _cutAt);
        long length = end - start;
        if (length >= _min)
        {
            int parts = (int)((length + _max - 1) / _max);
            for (int i = 0; i < parts; i++)
            {
                Emit(start + length * i / parts, start + length * (i + 1) / parts, final: true, output);
            }
        }
        _cutAt = Math.Max(_cutAt, end);
    }

    private void Emit(long start, long end, bool final, List<UtteranceSpan> output)
    {
        // A partial and the final that follows it share the id; the next utterance gets a new one.
        output.Add(new UtteranceSpan(_nextId, start, end, final, _position));
        if (final)
        {
            _nextId++;
        }
    }
}
