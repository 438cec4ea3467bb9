using System.Diagnostics;

namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>The stages <see cref="PipelineMonitor"/> times.</summary>
internal enum PipelineStage
{
    Segment,
    FrontEnd,
    EncodeProject,
    Decode,
}

/// <summary>
/// What <see cref="AvsrPipeline"/>'s stages report while they run, for <see cref="PipelineHealth"/> snapshots. Each stage
/// thread writes under one lock (a few times per chunk or utterance, nothing next to the model calls), so a snapshot is
/// consistent. A live captioner hands one monitor to each pipeline it builds, so the figures span task switches.
/// </summary>
internal sealed class PipelineMonitor
{
    private readonly Lock _lock = new();
    private readonly long[] _counts = new long[4];
    private readonly long[] _lastTicks = new long[4];
    private readonly long[] _totalTicks = new long[4];
    private readonly LatencyWindow _latency;
    private Func<QueueDepths>? _queues;
    private AvsrTask _task;
    private long _partialsCut, _finalsCut, _partialsDropped, _finalsDropped, _partialCaptions, _finalCaptions, _audioFilled, _videoFilled;

    public PipelineMonitor(AvsrTask task, int latencyWindow)
    {
        _task = task;
        _latency = new LatencyWindow(latencyWindow);
    }

    public long PartialsDropped
    {
        get
        {
            lock (_lock)
            {
                return _partialsDropped;
            }
        }
    }

    public long FinalsDropped
    {
        get
        {
            lock (_lock)
            {
                return _finalsDropped;
            }
        }
    }

    /// <summary>A run starts: its task, and how to read its queues (null when it ends).</summary>
    public void Attach(AvsrTask task, Func<QueueDepths>? queues)
    {
        lock (_lock)
        {
            _task = task;
            _queues = queues;
        }
    }

    public void Detach(Func<QueueDepths> queues)
    {
        lock (_lock)
        {
            if (_queues == queues)
            {
                _queues = null;
            }
        }
    }

    public void Stage(PipelineStage stage, long ticks)
    {
        lock (_lock)
        {
            _counts[(int)stage]++;
            _lastTicks[(int)stage] = ticks;
            _totalTicks[(int)stage] += ticks;
        }
    }

    public void Cut(bool final)
    {
        lock (_lock)
        {
            _ = final ? _finalsCut++ : _partialsCut++;
        }
    }

    public void PartialDropped()
    {
        lock (_lock)
        {
            _partialsDropped++;
        }
    }

    public void FinalDropped()
    {
        lock (_lock)
        {
            _finalsDropped++;
        }
    }

    public void Filled(long audioSamples, long videoFrames)
    {
        if (audioSamples == 0 && videoFrames == 0)
        {
            return;
        }
        lock (_lock)
        {
            _audioFilled += audioSamples;
            _videoFilled += videoFrames;
        }
    }

    /// <summary>A caption left the decoder; a final's latency counts from <paramref name="decidedAtTimestamp"/> (a <see cref="Stopwatch"/> stamp).</summary>
    public void Captioned(bool final, long decidedAtTimestamp)
    {
        var latency = Stopwatch.GetElapsedTime(decidedAtTimestamp);
        lock (_lock)
        {
            if (final)
            {
                _finalCaptions++;
                _latency.Add(latency.TotalMilliseconds);
            }
            else
            {
                _partialCaptions++;
            }
        }
    }

    public PipelineHealth Snapshot()
    {
        Func<QueueDepths>? queues;
        lock (_lock)
        {
            queues = _queues;
        }
        // Channel counts take the channels' own locks: read them outside ours.
        var depths = queues?.Invoke();
        lock (_lock)
        {
            return new PipelineHealth
            {
                Task = _task,
                Segment = StageOf(PipelineStage.Segment),
                FrontEnd = StageOf(PipelineStage.FrontEnd),
                EncodeProject = StageOf(PipelineStage.EncodeProject),
                Decode = StageOf(PipelineStage.Decode),
                Queues = depths ?? new QueueDepths(0, 0, 0, 0, 0),
                PartialsCut = _partialsCut,
                FinalsCut = _finalsCut,
                PartialsDropped = _partialsDropped,
                FinalsDropped = _finalsDropped,
                PartialCaptions = _partialCaptions,
                FinalCaptions = _finalCaptions,
                AudioSamplesFilled = _audioFilled,
                VideoFramesFilled = _videoFilled,
                FinalLatency = _latency.Summary(),
            };
        }
    }

    private StageHealth StageOf(PipelineStage stage)
    {
        int i = (int)stage;
        long count = _counts[i];
        return new StageHealth(count, Milliseconds(_lastTicks[i]), count == 0 ? 0 : Milliseconds(_totalTicks[i]) / count);
    }

    private static double Milliseconds(long stopwatchTicks) => stopwatchTicks * 1000.0 / Stopwatch.Frequency;
}

/// <summary>The most recent latencies (a ring of fixed size) and their last value, mean and nearest-rank 95th percentile.</summary>
internal sealed class LatencyWindow
{
    private readonly double[] _values;
    private int _count, _next;
    private double _last;

    public LatencyWindow(int size)
    {
        if (size < 1)
        {
            throw new EdgeAvsrException($"latency window {size} must be at least 1");
        }
        _values = new double[size];
    }

    public void Add(double value)
    {
        _values[_next] = value;
        _next = (_next + 1) % _values.Length;
        _count = Math.Min(_count + 1, _values.Length);
        _last = value;
    }

    public CaptionLatency Summary()
    {
        if (_count == 0)
        {
            return new CaptionLatency(0, 0, 0, 0);
        }
        var sorted = _values.AsSpan(0, _count).ToArray();
        Array.Sort(sorted);
        int rank = (int)Math.Ceiling(0.95 * _count);
        return new CaptionLatency(_count, _last, sorted.Average(), sorted[rank - 1]);
    }
}
