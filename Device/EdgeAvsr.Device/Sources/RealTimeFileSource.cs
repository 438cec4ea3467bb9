using System.Runtime.CompilerServices;
using EdgeAvsr.Runtime.Pipeline;

namespace EdgeAvsr.Device.Sources;

/// <summary>
/// A clip played as if it were being captured: the chunks of <see cref="MediaFileSource"/> (the same samples and crops), each
/// handed out once the clock has passed its end, as a device delivers what it has captured. For demos and for tests of what
/// consumes a live stream; the clock is the <see cref="TimeProvider"/> given (a fake one in tests).
/// </summary>
public sealed class RealTimeFileSource
{
    private readonly MediaFileSource _file;
    private readonly TimeProvider _time;
    private readonly TimeSpan _chunk;

    /// <param name="request">The clip.</param>
    /// <param name="wantAudio">Play its audio, if it has any.</param>
    /// <param name="wantVideo">Play its video, if it has any.</param>
    /// <param name="time">The clock (default: the system's).</param>
    /// <param name="chunk">Stream time per step (default 40 ms, one video frame).</param>
    public RealTimeFileSource(MediaClipRequest request, bool wantAudio = true, bool wantVideo = true, TimeProvider? time = null, TimeSpan? chunk = null)
    {
        _file = new MediaFileSource(request, wantAudio, wantVideo);
        _time = time ?? TimeProvider.System;
        _chunk = chunk ?? TimeSpan.FromSeconds(1.0 / StreamClock.FrameRate);
    }

    public MediaStreams Streams => _file.Streams;

    /// <summary>The clip's chunks, each at its end time on the clock (counted from the first call to MoveNextAsync).</summary>
    public async IAsyncEnumerable<MediaChunk> ReadAsync([EnumeratorCancellation] CancellationToken cancellation = default)
    {
        long start = _time.GetTimestamp();
        await foreach (var chunk in _file.ReadAsync(_chunk, cancellation).ConfigureAwait(false))
        {
            var wait = End(chunk) - _time.GetElapsedTime(start);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, _time, cancellation).ConfigureAwait(false);
            }
            yield return chunk;
        }
    }

    /// <summary>The stream time just after a chunk's last sample or frame.</summary>
    public static TimeSpan End(MediaChunk chunk) => chunk switch
    {
        AudioChunk a => a.Timestamp + StreamSynchronizer.SampleTime(a.Samples.Length),
        VideoChunk v => v.Timestamp + StreamSynchronizer.SlotTime(v.Crops.Count),
        null => throw new ArgumentNullException(nameof(chunk)),
        _ => chunk.Timestamp,
    };
}
