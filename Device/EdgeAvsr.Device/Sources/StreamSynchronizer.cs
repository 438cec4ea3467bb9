using EdgeAvsr.Runtime.Pipeline;
using EdgeAvsr.Runtime.Video;

namespace EdgeAvsr.Device.Sources;

/// <summary>
/// Puts a microphone's samples and a camera's frames on one clock: the count of audio samples received. Audio chunks are
/// stamped where the sample count says; video frames fill 40 ms slots of that clock, one frame per slot, in order. A camera
/// running fast leaves frames over (beyond the backlog allowed, the oldest are dropped), one running slow leaves slots empty
/// (the last frame is repeated), so the frame shown in a slot stays within the backlog of the slot's time however far the two
/// device clocks drift apart. While no audio drives the clock (no microphone, or it stalled) the host clock does, from the
/// last audio sample on; audio that comes back is stamped on that clock (the gap is silence to the pipeline).
/// Not thread-safe: one owner feeds it and takes its chunks.
/// </summary>
internal sealed class StreamSynchronizer
{
    private const int FrameBytes = MouthRoi.CropSize * MouthRoi.CropSize;
    private readonly double _nominalFrameRate;
    private readonly int _maxBacklog;
    private readonly Queue<byte[]> _frames = new();
    private readonly RateFit _videoRate = new();
    private readonly RateFit _audioRate = new();
    private byte[]? _lastFrame;
    private long _nextSlot;
    // The host-clock anchor while audio does not drive the clock: Position = _anchorPosition + (now - _anchorTime) * 16 kHz.
    private long _anchorPosition;
    private TimeSpan _anchorTime;
    private TimeSpan _lastAudioArrival;
    private long _audioEnd;

    /// <param name="nominalFrameRate">The rate the camera is meant to deliver (its drift is measured against it).</param>
    /// <param name="maxBacklog">Frames held beyond the slots the clock reached before the oldest are dropped.</param>
    /// <param name="start">The host time at stream time zero.</param>
    public StreamSynchronizer(double nominalFrameRate, int maxBacklog, TimeSpan start)
    {
        _nominalFrameRate = nominalFrameRate;
        _maxBacklog = maxBacklog;
        _anchorTime = start;
    }

    /// <summary>Stream time reached, in 16 kHz samples.</summary>
    public long Position { get; private set; }

    /// <summary>True while audio arrives and drives the clock.</summary>
    public bool AudioDrivesClock { get; private set; }

    /// <summary>True while the camera counts as delivering (empty slots repeat the last frame rather than stay empty).</summary>
    public bool VideoLive { get; private set; }

    public long SamplesReceived { get; private set; }

    public long FramesReceived { get; private set; }

    public long FramesSent { get; private set; }

    public long FramesDropped { get; private set; }

    public long FramesRepeated { get; private set; }

    /// <summary>The camera's rate against the stream clock, in parts per million off its nominal rate (null: not measured yet).</summary>
    public double? VideoDriftPpm => _videoRate.Slope is { } framesPerSample
        ? (framesPerSample * StreamClock.SampleRate / _nominalFrameRate - 1) * 1e6 : null;

    /// <summary>The microphone's rate against the host clock, in parts per million off 16 kHz (null: not measured yet).</summary>
    public double? AudioDriftPpm => _audioRate.Slope is { } samplesPerSecond ? (samplesPerSecond / StreamClock.SampleRate - 1) * 1e6 : null;

    /// <summary>Samples that arrived at host time <paramref name="now"/>: an audio chunk, then the video slots they complete.</summary>
    public void OnAudio(float[] samples, TimeSpan now, List<MediaChunk> output)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(output);
        if (samples.Length == 0)
        {
            return;
        }
        long stamp;
        if (AudioDrivesClock)
        {
            stamp = Position;
        }
        else
        {
            // Audio starts or comes back: its first sample was taken one piece ago on the host clock, never before the audio sent.
            stamp = Math.Max(_audioEnd, HostPosition(now) - samples.Length);
            AudioDrivesClock = true;
            _audioRate.Reset();
        }
        SamplesReceived += samples.Length;
        _audioRate.Add(now.TotalSeconds, SamplesReceived);
        _lastAudioArrival = now;
        output.Add(new AudioChunk(SampleTime(stamp), samples));
        _audioEnd = stamp + samples.Length;
        Position = Math.Max(Position, _audioEnd);
        EmitDueSlots(output);
        DropExcess();
    }

    /// <summary>One 96x96 crop that arrived at host time <paramref name="now"/>; it goes out when the clock reaches its slot.</summary>
    public void OnFrame(byte[] crop, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(crop);
        if (crop.Length != FrameBytes)
        {
            throw new ArgumentException($"a crop is {FrameBytes} bytes, not {crop.Length}", nameof(crop));
        }
        if (!VideoLive)
        {
            VideoLive = true;
            _videoRate.Reset();
            // Slots passed while the camera was away stay empty.
            _nextSlot = Math.Max(_nextSlot, Position / StreamClock.SamplesPerFrame);
        }
        FramesReceived++;
        _frames.Enqueue(crop);
        _videoRate.Add(AudioDrivesClock ? Position : Math.Max(Position, HostPosition(now)), FramesReceived);
    }

    /// <summary>The microphone stopped delivering (stalled or gone): the host clock drives from its last sample on.</summary>
    public void AudioStopped()
    {
        if (AudioDrivesClock)
        {
            AudioDrivesClock = false;
            _anchorPosition = Position;
            _anchorTime = _lastAudioArrival;
        }
    }

    /// <summary>The camera stopped delivering: frames still held go out, then its slots stay empty until it is back.</summary>
    public void VideoStopped() => VideoLive = false;

    /// <summary>Host time passed: while no audio drives the clock, the slots it reaches go out.</summary>
    public void Advance(TimeSpan now, List<MediaChunk> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (AudioDrivesClock)
        {
            return;
        }
        Position = Math.Max(Position, HostPosition(now));
        EmitDueSlots(output);
        DropExcess();
    }

    private long HostPosition(TimeSpan now) =>
        _anchorPosition + Math.Max(0, (long)Math.Floor((now - _anchorTime).TotalSeconds * StreamClock.SampleRate));

    private void EmitDueSlots(List<MediaChunk> output)
    {
        // On the host clock a slot waits one frame more: the frame captured in it arrives just after it closes, and without
        // the wait that frame's jitter decides between showing it and repeating the one before.
        long due = (Position - (AudioDrivesClock ? 0 : StreamClock.SamplesPerFrame)) / StreamClock.SamplesPerFrame;
        long runStart = _nextSlot;
        var run = new List<byte[]>();
        for (; _nextSlot < due; _nextSlot++)
        {
            byte[]? frame = null;
            if (_frames.Count > 0)
            {
                frame = _frames.Dequeue();
            }
            else if (VideoLive && _lastFrame is not null)
            {
                frame = _lastFrame;
                FramesRepeated++;
            }
            if (frame is null)
            {
                Flush(runStart, run, output);
                runStart = _nextSlot + 1;
                continue;
            }
            _lastFrame = frame;
            run.Add(frame);
        }
        Flush(runStart, run, output);
    }

    private void Flush(long firstSlot, List<byte[]> run, List<MediaChunk> output)
    {
        if (run.Count == 0)
        {
            return;
        }
        var pixels = new byte[run.Count * FrameBytes];
        for (int i = 0; i < run.Count; i++)
        {
            run[i].CopyTo(pixels, i * FrameBytes);
        }
        output.Add(new VideoChunk(SlotTime(firstSlot), new GrayFrames(pixels, run.Count, MouthRoi.CropSize, MouthRoi.CropSize)));
        FramesSent += run.Count;
        run.Clear();
    }

    private void DropExcess()
    {
        while (_frames.Count > _maxBacklog)
        {
            _frames.Dequeue();
            FramesDropped++;
        }
    }

    /// <summary>Sample <paramref name="samples"/> as a time span (exact: 625 ticks a sample).</summary>
    public static TimeSpan SampleTime(long samples) => TimeSpan.FromTicks(samples * (TimeSpan.TicksPerSecond / StreamClock.SampleRate));

    /// <summary>The start of video slot <paramref name="slot"/> (exact: 40 ms a slot).</summary>
    public static TimeSpan SlotTime(long slot) => TimeSpan.FromTicks(slot * (TimeSpan.TicksPerSecond / StreamClock.FrameRate));
}

/// <summary>A least-squares line through (x, y) points added one by one: the rate of y against x.</summary>
internal sealed class RateFit
{
    private const int MinPoints = 50;
    private double _n, _sx, _sy, _sxx, _sxy;
    private double _x0, _y0;

    public void Reset() => _n = _sx = _sy = _sxx = _sxy = 0;

    public void Add(double x, double y)
    {
        if (_n == 0)
        {
            // Sums about the first point keep the precision of long runs.
            _x0 = x;
            _y0 = y;
        }
        double dx = x - _x0, dy = y - _y0;
        _n++;
        _sx += dx;
        _sy += dy;
        _sxx += dx * dx;
        _sxy += dx * dy;
    }

    /// <summary>dy/dx, or null before enough points spread over x.</summary>
    public double? Slope
    {
        get
        {
            double det = _n * _sxx - _sx * _sx;
            return _n >= MinPoints && det > 0 ? (_n * _sxy - _sx * _sy) / det : null;
        }
    }
}
