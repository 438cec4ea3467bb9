using EdgeAvsr.Runtime.Video;

namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>
/// The audio received so far, from <see cref="Offset"/> on; gaps in the stamps are filled with silence. Dropping the
/// past is a sliding window: the kept samples are moved to the front of the array only when room is needed and as many
/// were dropped as are kept, so a live stream moves each sample a few times at most rather than the window per chunk.
/// </summary>
internal sealed class SampleBuffer
{
    private float[] _data = new float[StreamClock.SampleRate * 4];
    // The kept samples are _data[_start .. _start + _count]; the ones before _start were dropped.
    private int _start;
    private int _count;

    /// <summary>A buffer whose stream begins at sample <paramref name="start"/> (a gap before the first chunk is silence from there).</summary>
    public SampleBuffer(long start = 0)
    {
        Offset = start;
    }

    public long Offset { get; private set; }

    public long End => Offset + _count;

    /// <summary>Kept samples copied so far to make room (moved to the front or into a larger array).</summary>
    public long MovedSamples { get; private set; }

    /// <summary>Adds the chunk's samples; returns how many samples of silence went before them to fill a dropout.</summary>
    public int Append(AudioChunk chunk)
    {
        long at = StreamClock.Samples(chunk.Timestamp);
        // A stamp later than the stream position is a dropout: silence keeps the stream time (and video) aligned.
        // Tolerate a few samples of rounding; an earlier stamp would rewrite the past.
        int silence = 0;
        if (at > End + 16)
        {
            silence = checked((int)(at - End));
            Write(new float[silence]);
        }
        else if (at < End - 16)
        {
            throw new EdgeAvsrException($"audio chunk stamped {chunk.Timestamp.TotalSeconds:0.####} s overlaps what was received (the stream is at " +
                $"{StreamClock.Seconds(End):0.####} s)");
        }
        Write(chunk.Samples);
        return silence;
    }

    private void Write(ReadOnlySpan<float> samples)
    {
        if (_start + _count + samples.Length > _data.Length)
        {
            MakeRoom(samples.Length);
        }
        samples.CopyTo(_data.AsSpan(_start + _count));
        _count += samples.Length;
    }

    private void MakeRoom(int more)
    {
        // Moving the kept samples to the front costs what was dropped at most (each dropped sample pays for one move);
        // while less was dropped than is kept, the array doubles instead, so moves stay a small multiple of appends.
        var target = _start >= _count && _count + more <= _data.Length
            ? _data
            : new float[Math.Max(_data.Length * 2, _count + more)];
        _data.AsSpan(_start, _count).CopyTo(target);
        MovedSamples += _count;
        _data = target;
        _start = 0;
    }

    public float[] Slice(long start, long end)
    {
        var result = new float[end - start];
        long from = Math.Max(start, Offset), to = Math.Min(end, End);
        if (to > from)
        {
            _data.AsSpan(_start + (int)(from - Offset), (int)(to - from)).CopyTo(result.AsSpan((int)(from - start)));
        }
        return result;
    }

    public void DropBefore(long sample)
    {
        int drop = (int)Math.Clamp(sample - Offset, 0, _count);
        if (drop > 0)
        {
            _count -= drop;
            Offset += drop;
            // Nothing kept: the next write starts at the front without moving anything.
            _start = _count == 0 ? 0 : _start + drop;
        }
    }
}

/// <summary>
/// The 96x96 crops received so far, from frame <see cref="Offset"/> on; a missing frame repeats the one before. Dropped
/// frames leave the list once as many were dropped as are kept, so each frame moves about once.
/// </summary>
internal sealed class FrameBuffer
{
    private const int FrameBytes = MouthRoi.CropSize * MouthRoi.CropSize;
    private readonly List<byte[]> _frames = [];
    // The kept frames are _frames[_first..]; the ones before were dropped.
    private int _first;

    /// <summary>A buffer whose stream begins at frame <paramref name="first"/>.</summary>
    public FrameBuffer(long first = 0)
    {
        Offset = first;
    }

    public long Offset { get; private set; }

    public long End => Offset + KeptCount;

    /// <summary>Kept frames moved so far to remove dropped ones from the front of the list.</summary>
    public long MovedFrames { get; private set; }

    private int KeptCount => _frames.Count - _first;

    /// <summary>Adds the chunk's frames; returns how many frames went before them to fill missing ones.</summary>
    public int Append(VideoChunk chunk)
    {
        var crops = chunk.Crops;
        if (crops.Width != MouthRoi.CropSize || crops.Height != MouthRoi.CropSize)
        {
            throw new EdgeAvsrException($"video chunk at {chunk.Timestamp.TotalSeconds:0.###} s holds {crops.Width}x{crops.Height} frames; the " +
                $"pipeline takes {MouthRoi.CropSize}x{MouthRoi.CropSize} mouth crops");
        }
        long at = (long)Math.Round(chunk.Timestamp.TotalSeconds * StreamClock.FrameRate);
        if (at < End)
        {
            throw new EdgeAvsrException($"video chunk stamped {chunk.Timestamp.TotalSeconds:0.###} s (frame {at}) overlaps what was received (frame {End})");
        }
        int filled = 0;
        while (End < at)
        {
            _frames.Add(KeptCount > 0 ? _frames[^1] : new byte[FrameBytes]);
            filled++;
        }
        for (int t = 0; t < crops.Count; t++)
        {
            _frames.Add(crops.Frame(t).ToArray());
        }
        return filled;
    }

    public GrayFrames Slice(long first, long end)
    {
        // Dropped frames may still be in the list: a read of them must fail, not return them.
        if (first < end && (first < Offset || end > End))
        {
            throw new ArgumentOutOfRangeException(nameof(first), $"frames {first}-{end} are outside the kept {Offset}-{End}");
        }
        var pixels = new byte[(end - first) * FrameBytes];
        for (long f = first; f < end; f++)
        {
            _frames[_first + (int)(f - Offset)].CopyTo(pixels.AsSpan((int)((f - first) * FrameBytes)));
        }
        return new GrayFrames(pixels, (int)(end - first), MouthRoi.CropSize, MouthRoi.CropSize);
    }

    public void DropBefore(long frame)
    {
        int drop = (int)Math.Clamp(frame - Offset, 0, KeptCount);
        if (drop > 0)
        {
            _first += drop;
            Offset += drop;
            if (_first >= KeptCount)
            {
                MovedFrames += KeptCount;
                _frames.RemoveRange(0, _first);
                _first = 0;
            }
        }
    }
}
