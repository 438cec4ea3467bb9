using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Video;

namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>
/// Captions a live source for as long as it runs: an <see cref="AvsrPipeline"/> for the task the live streams allow,
/// rebuilt when they change. The preferred task runs while its streams deliver; when a <see cref="StreamStateChunk"/>
/// says the camera stopped it falls back to ASR, when the microphone stopped to VSR (if the pack serves them, else it
/// waits and says why), and returns to the preferred task when both deliver again. At a switch the running pipeline
/// ends as at the end of a source (its utterance in progress becomes a final from the media that arrived) and the next
/// one starts where it ended, on the same stream clock, numbering utterances on. A pipeline that throws is rebuilt and
/// the stream goes on from the next chunk (backing off when faults repeat); only cancellation, which flushes the last
/// utterance, or the end of the source ends a run.
/// </summary>
public sealed class LiveCaptioner
{
    private readonly AvsrModels _models;
    private readonly AvsrPipelineOptions _options;
    private readonly LiveCaptionerOptions _live;
    private readonly PipelineMonitor _monitor;
    private readonly Lock _lock = new();
    private int _running;
    private int _pumpsRunning;

    // Status, under _lock.
    private Plan _plan;
    private MediaStreams _liveStreams;
    private int _utterances, _partials, _switches, _restarts, _faultStreak, _nextUtterance;
    private long _chunksDropped, _backoffUntil;
    private LiveSwitch? _lastSwitch;
    private string? _lastFault;
    private bool _stopped;

    public LiveCaptioner(AvsrModels models, AvsrTask preferred, MediaStreams streams, AvsrPipelineOptions? options = null,
        LiveCaptionerOptions? live = null)
    {
        _models = models ?? throw new ArgumentNullException(nameof(models));
        _options = options ?? new AvsrPipelineOptions();
        _live = live ?? new LiveCaptionerOptions();
        if (!models.Manifest.Tasks.Contains(preferred))
        {
            throw new EdgeAvsrException("task", name => $"{name} {preferred.ToText()}: the pack supports " +
                string.Join(", ", models.Manifest.Tasks.Select(t => t.ToText())));
        }
        TaskSelection.RequireStreams(preferred, streams);
        if (_live.FirstBackoff < TimeSpan.Zero || _live.MaxBackoff < _live.FirstBackoff || _live.MaxModelFaults < 1 || _live.Replay < TimeSpan.Zero)
        {
            throw new EdgeAvsrException("live captioner options: need 0 <= first backoff <= max backoff, max model faults >= 1, replay >= 0");
        }
        Preferred = preferred;
        Declared = streams;
        _monitor = new PipelineMonitor(preferred, _options.LatencyWindow);
        _liveStreams = streams;
        _plan = Choose(streams);
    }

    public AvsrTask Preferred { get; }

    /// <summary>Pipelines whose caption pump has not ended: 0 once a failed pipeline has let go of its models and its feed, so the
    /// next chunk starts the rebuilt one.</summary>
    internal int PipelinesRunning => Volatile.Read(ref _pumpsRunning);

    /// <summary>The streams the source declares; a <see cref="StreamStateChunk"/> can say fewer deliver, never more.</summary>
    public MediaStreams Declared { get; }

    /// <summary>A thread-safe snapshot, cheap enough for every health request.</summary>
    public LiveStatus Status
    {
        get
        {
            var health = _monitor.Snapshot();
            lock (_lock)
            {
                long left = _backoffUntil - Stopwatch.GetTimestamp();
                return new LiveStatus
                {
                    Preferred = Preferred,
                    Task = _plan.Task,
                    Declared = Declared,
                    Live = _liveStreams,
                    Reason = _plan.Why,
                    Utterances = _utterances,
                    Partials = _partials,
                    PartialsDropped = health.PartialsDropped,
                    ChunksDropped = _chunksDropped,
                    Switches = _switches,
                    LastSwitch = _lastSwitch,
                    Restarts = _restarts,
                    LastFault = _lastFault,
                    BackingOff = left > 0 ? Stopwatch.GetElapsedTime(0, left) : null,
                    Stopped = _stopped,
                    Pipeline = health,
                };
            }
        }
    }

    /// <summary>
    /// Captions of <paramref name="source"/> in stream order (a new pipeline's captions after the last one's). Cancelling
    /// <paramref name="cancellation"/> stops reading the source (which must honour it while it waits for a device), flushes
    /// the utterance in progress and ends the run without an exception; stopping the enumeration early stops at once.
    /// </summary>
    public async IAsyncEnumerable<Caption> RunAsync(IAsyncEnumerable<MediaChunk> source, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (Interlocked.Exchange(ref _running, 1) == 1)
        {
            throw new InvalidOperationException("the live captioner is running already");
        }
        using var stop = new CancellationTokenSource();
        var output = Channel.CreateBounded<Caption>(new BoundedChannelOptions(_options.QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        var driver = Task.Run(() => DriveAsync(source, output.Writer, cancellation, stop.Token), CancellationToken.None);
        try
        {
            while (await output.Reader.WaitToReadAsync(stop.Token).ConfigureAwait(false))
            {
                while (output.Reader.TryRead(out var caption))
                {
                    yield return caption;
                }
            }
            await driver.ConfigureAwait(false);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await driver.ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ChannelClosedException || driver.IsFaulted)
            {
                // Thrown to the consumer above already, or the consumer stopped early.
            }
            Volatile.Write(ref _running, 0);
        }
    }

    private async Task DriveAsync(IAsyncEnumerable<MediaChunk> source, ChannelWriter<Caption> output, CancellationToken cancellation, CancellationToken stop)
    {
        var state = new DriveState(output, stop);
        // The source stops on either: the caller's cancellation (then the last utterance is flushed) or the consumer leaving.
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(cancellation, stop);
        try
        {
            var chunks = source.GetAsyncEnumerator(reading.Token);
            await using (chunks.ConfigureAwait(false))
            {
                while (true)
                {
                    try
                    {
                        if (!await chunks.MoveNextAsync().ConfigureAwait(false))
                        {
                            break;
                        }
                    }
                    catch (OperationCanceledException) when (cancellation.IsCancellationRequested && !stop.IsCancellationRequested)
                    {
                        break;
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        // The source itself failed (not a device it retries): what arrived is still captioned.
                        Fault($"source: {Describe(e)}");
                        await EndSessionAsync(state).ConfigureAwait(false);
                        throw;
                    }
                    stop.ThrowIfCancellationRequested();
                    if (state.Session is { Pump.IsCompleted: true })
                    {
                        // Its feed is open, so its pipeline stopped on its own: a stage threw.
                        HandleFault(state);
                    }
                    await HandleAsync(chunks.Current, state).ConfigureAwait(false);
                }
            }
            await EndSessionAsync(state).ConfigureAwait(false);
        }
        finally
        {
            state.Session?.Feed.Writer.TryComplete();
            output.TryComplete();
        }
    }

    private async Task HandleAsync(MediaChunk chunk, DriveState state)
    {
        if (chunk is StreamStateChunk change)
        {
            await ChangeStreamsAsync(change, state).ConfigureAwait(false);
            return;
        }
        bool audio = chunk is AudioChunk;
        if (chunk is not (AudioChunk or VideoChunk) || !(audio ? Declared.HasAudio : Declared.HasVideo))
        {
            Dropped();
            return;
        }
        state.Remember(chunk, StreamClock.Samples(_live.Replay));
        Plan plan;
        lock (_lock)
        {
            plan = _plan;
            if (!(audio ? _liveStreams.HasAudio : _liveStreams.HasVideo))
            {
                _chunksDropped++;
                return;
            }
        }
        while (true)
        {
            if (plan.Task is null || BackingOff())
            {
                Dropped();
                return;
            }
            if (!(audio ? plan.Inputs.HasAudio : plan.Inputs.HasVideo))
            {
                // A live stream this task does not read (the camera under ASR): not a drop, and no reason to start a pipeline here.
                return;
            }
            if (state.Session is null)
            {
                long start = StreamClock.FrameAtOrAfter(StreamClock.Samples(chunk.Timestamp) - StreamClock.SamplesPerFrame + 1) * StreamClock.SamplesPerFrame;
                if (!await StartSessionAsync(plan, start, replay: false, state).ConfigureAwait(false))
                {
                    continue;
                }
            }
            if (await ForwardAsync(state.Session!, chunk, state.Stop).ConfigureAwait(false))
            {
                return;
            }
            HandleFault(state);
        }
    }

    private async Task ChangeStreamsAsync(StreamStateChunk change, DriveState state)
    {
        var live = new MediaStreams(change.Live.HasAudio && Declared.HasAudio, change.Live.HasVideo && Declared.HasVideo);
        var plan = Choose(live);
        Plan before;
        lock (_lock)
        {
            _liveStreams = live;
            before = _plan;
            _plan = plan;
        }
        var session = state.Session;
        bool sameRun = session is null ? before.Task == plan.Task && before.Inputs == plan.Inputs : session.Task == plan.Task && session.Inputs == plan.Inputs;
        if (sameRun)
        {
            return;
        }
        long droppedBefore = _monitor.FinalsDropped;
        int flushed = session is null ? 0 : await EndSessionAsync(state).ConfigureAwait(false);
        int dropped = (int)(_monitor.FinalsDropped - droppedBefore);
        lock (_lock)
        {
            _switches++;
            _lastSwitch = new LiveSwitch(change.Timestamp.TotalSeconds, session?.Task ?? before.Task, plan.Task, plan.Why ?? $"{live} live again", flushed,
                dropped);
        }
        if (session is not null && plan.Task is not null)
        {
            // Carry on where the last pipeline ended, with what it received of the streams the new one reads beyond that point.
            long start = plan.Inputs.HasAudio ? session.Position : StreamClock.FrameAtOrAfter(session.Position) * StreamClock.SamplesPerFrame;
            while (!BackingOff() && !await StartSessionAsync(plan, start, replay: true, state).ConfigureAwait(false))
            {
            }
        }
    }

    /// <summary>Starts a pipeline at stream sample <paramref name="start"/>; false when it failed at once (the fault is handled).</summary>
    private async Task<bool> StartSessionAsync(Plan plan, long start, bool replay, DriveState state)
    {
        int first;
        lock (_lock)
        {
            first = _nextUtterance;
        }
        AvsrPipeline pipeline;
        try
        {
            pipeline = new AvsrPipeline(_models, plan.Task!.Value, plan.Inputs, _options, _monitor);
        }
        catch (EdgeAvsrException e)
        {
            state.Session = new Session(null!, plan, start, first) { Fault = e };
            HandleFault(state);
            return false;
        }
        var session = new Session(pipeline, plan, start, first);
        Interlocked.Increment(ref _pumpsRunning);
        session.Pump = Task.Run(() => PumpAsync(session, state.Output, state.Stop), CancellationToken.None);
        state.Session = session;
        if (replay)
        {
            foreach (var chunk in state.Recent)
            {
                bool read = chunk is AudioChunk ? plan.Inputs.HasAudio : plan.Inputs.HasVideo;
                if (read && !await ForwardAsync(session, chunk, state.Stop).ConfigureAwait(false))
                {
                    HandleFault(state);
                    return false;
                }
            }
        }
        return true;
    }

    private async Task PumpAsync(Session session, ChannelWriter<Caption> output, CancellationToken stop)
    {
        try
        {
            var run = new PipelineRun(session.Start, session.FirstUtterance, DropFinalsWithoutVideo: true);
            await foreach (var caption in session.Pipeline.RunAsync(session.Feed.Reader.ReadAllAsync(stop), run, stop).ConfigureAwait(false))
            {
                lock (_lock)
                {
                    _nextUtterance = Math.Max(_nextUtterance, caption.Utterance + 1);
                    _faultStreak = 0;
                    if (caption.IsFinal)
                    {
                        _utterances++;
                        if (session.Ending)
                        {
                            session.FinalsFlushed++;
                        }
                    }
                    else
                    {
                        _partials++;
                    }
                }
                await output.WriteAsync(caption, stop).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (!stop.IsCancellationRequested)
        {
            session.Fault = e;
        }
        finally
        {
            session.Feed.Writer.TryComplete();
            Interlocked.Decrement(ref _pumpsRunning);
        }
    }

    /// <summary>Ends the running pipeline as at the end of its source, waiting for its last captions; returns the finals that came out at the end.</summary>
    private async Task<int> EndSessionAsync(DriveState state)
    {
        var session = state.Session;
        if (session is null)
        {
            return 0;
        }
        state.Session = null;
        session.Ending = true;
        session.Feed.Writer.TryComplete();
        await session.Pump.ConfigureAwait(false);
        if (session.Fault is { } e)
        {
            Fault(Describe(e));
        }
        return session.FinalsFlushed;
    }

    /// <summary>The running pipeline threw: note it, and rebuild from the next chunk (after a backoff when faults repeat), or give up.</summary>
    private void HandleFault(DriveState state)
    {
        var session = state.Session!;
        state.Session = null;
        var e = session.Fault ?? new InvalidOperationException("the pipeline stopped before its source ended");
        lock (_lock)
        {
            _faultStreak++;
            _lastFault = Describe(e);
            if (e is EdgeAvsrException && _faultStreak >= _live.MaxModelFaults)
            {
                _stopped = true;
                ExceptionDispatchInfo.Capture(e).Throw();
            }
            _restarts++;
            _backoffUntil = Stopwatch.GetTimestamp() + (long)(Backoff(_faultStreak, _live).TotalSeconds * Stopwatch.Frequency);
        }
        state.Recent.Clear();
    }

    /// <summary>The wait before rebuilding after the <paramref name="streak"/>-th fault in a row: none for the first, then doubling to the maximum.</summary>
    internal static TimeSpan Backoff(int streak, LiveCaptionerOptions options) => streak <= 1
        ? TimeSpan.Zero
        : TimeSpan.FromSeconds(Math.Min(options.MaxBackoff.TotalSeconds, options.FirstBackoff.TotalSeconds * Math.Pow(2, Math.Min(streak - 2, 30))));

    private static async Task<bool> ForwardAsync(Session session, MediaChunk chunk, CancellationToken stop)
    {
        var trimmed = Trim(chunk, session.Start);
        if (trimmed is null)
        {
            return true;
        }
        try
        {
            await session.Feed.Writer.WriteAsync(trimmed, stop).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            return false;
        }
        session.Received(trimmed);
        return true;
    }

    /// <summary>
    /// The part of <paramref name="chunk"/> at or after stream sample <paramref name="start"/> (video: from the first frame there),
    /// restamped; null if nothing is left.
    /// </summary>
    internal static MediaChunk? Trim(MediaChunk chunk, long start)
    {
        switch (chunk)
        {
            case AudioChunk a:
                long at = StreamClock.Samples(a.Timestamp);
                if (at >= start)
                {
                    return a;
                }
                long skip = start - at;
                return skip >= a.Samples.Length ? null : new AudioChunk(AtSample(start), a.Samples[(int)skip..]);
            case VideoChunk v:
                long frame = FrameOf(v.Timestamp), firstKept = StreamClock.FrameAtOrAfter(start);
                if (frame >= firstKept)
                {
                    return v;
                }
                long drop = firstKept - frame;
                if (drop >= v.Crops.Count)
                {
                    return null;
                }
                int size = v.Crops.Width * v.Crops.Height;
                var crops = new GrayFrames(v.Crops.Pixels[(int)(drop * size)..(v.Crops.Count * size)], v.Crops.Count - (int)drop, v.Crops.Width,
                    v.Crops.Height);
                return new VideoChunk(AtSample(firstKept * StreamClock.SamplesPerFrame), crops);
            default:
                return chunk;
        }
    }

    private static TimeSpan AtSample(long sample) => TimeSpan.FromTicks(sample * (TimeSpan.TicksPerSecond / StreamClock.SampleRate));

    private static long FrameOf(TimeSpan timestamp) => (long)Math.Round(timestamp.TotalSeconds * StreamClock.FrameRate);

    /// <summary>The task the live streams allow, what its pipeline reads, and why it is not the preferred one.</summary>
    private Plan Choose(MediaStreams live)
    {
        bool Fits(AvsrTask task) => (task == AvsrTask.Vsr || live.HasAudio) && (task == AvsrTask.Asr || live.HasVideo);
        // VSR still cuts utterances at the VAD's boundaries while the microphone delivers.
        MediaStreams Inputs(AvsrTask task) => task switch
        {
            AvsrTask.Asr => new MediaStreams(true, false),
            AvsrTask.Vsr => new MediaStreams(live.HasAudio && _models.Vad is not null, true),
            _ => new MediaStreams(true, true),
        };
        if (Fits(Preferred))
        {
            return new Plan(Preferred, Inputs(Preferred), null);
        }
        string missing = (Preferred != AvsrTask.Vsr && !live.HasAudio, Preferred != AvsrTask.Asr && !live.HasVideo) switch
        {
            (true, true) => "audio and video",
            (true, false) => "audio",
            _ => "video",
        };
        AvsrTask? fallback = live.HasAudio ? AvsrTask.Asr : live.HasVideo ? AvsrTask.Vsr : null;
        if (fallback is not { } task)
        {
            return new Plan(null, default, $"no stream live: waiting for {missing}");
        }
        if (!_models.Manifest.Tasks.Contains(task))
        {
            return new Plan(null, default, $"{live} live: {Preferred.ToText()} needs {missing} and the pack does not serve {task.ToText()}; " +
                $"waiting for {missing}");
        }
        return new Plan(task, Inputs(task), $"{live} live: {Preferred.ToText()} needs {missing}");
    }

    private bool BackingOff()
    {
        lock (_lock)
        {
            return Stopwatch.GetTimestamp() < _backoffUntil;
        }
    }

    private void Dropped()
    {
        lock (_lock)
        {
            _chunksDropped++;
        }
    }

    private void Fault(string message)
    {
        lock (_lock)
        {
            _lastFault = message;
        }
    }

    private static string Describe(Exception e) => e is EdgeAvsrException ? e.Message : $"{e.GetType().Name}: {e.Message}";

    private readonly record struct Plan(AvsrTask? Task, MediaStreams Inputs, string? Why);

    /// <summary>One pipeline run: its feed of chunks, the task that drains its captions, and how far each stream went in.</summary>
    private sealed class Session(AvsrPipeline pipeline, Plan plan, long start, int firstUtterance)
    {
        private long _audioEnd = -1, _videoEnd = -1;

        public AvsrPipeline Pipeline { get; } = pipeline;

        public AvsrTask Task { get; } = plan.Task!.Value;

        public MediaStreams Inputs { get; } = plan.Inputs;

        public long Start { get; } = start;

        public int FirstUtterance { get; } = firstUtterance;

        public Channel<MediaChunk> Feed { get; } = Channel.CreateBounded<MediaChunk>(new BoundedChannelOptions(4)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });

        public Task Pump { get; set; } = System.Threading.Tasks.Task.CompletedTask;

        public Exception? Fault { get; set; }

        public volatile bool Ending;

        public int FinalsFlushed;

        /// <summary>Where this pipeline's stream ended: the end of its audio, or of its video when it reads none.</summary>
        public long Position => Inputs.HasAudio
            ? Math.Max(Start, _audioEnd)
            : Math.Max(Start, _videoEnd * StreamClock.SamplesPerFrame);

        public void Received(MediaChunk chunk)
        {
            if (chunk is AudioChunk a)
            {
                _audioEnd = Math.Max(_audioEnd, StreamClock.Samples(a.Timestamp) + a.Samples.Length);
            }
            else if (chunk is VideoChunk v)
            {
                _videoEnd = Math.Max(_videoEnd, FrameOf(v.Timestamp) + v.Crops.Count);
            }
        }
    }

    /// <summary>The driver's own state: the pipeline running now and the recent chunks a switch replays.</summary>
    private sealed class DriveState(ChannelWriter<Caption> output, CancellationToken stop)
    {
        private long _newest;

        public ChannelWriter<Caption> Output { get; } = output;

        public CancellationToken Stop { get; } = stop;

        public Session? Session { get; set; }

        public Queue<MediaChunk> Recent { get; } = new();

        public void Remember(MediaChunk chunk, long keepSamples)
        {
            _newest = Math.Max(_newest, EndOf(chunk));
            Recent.Enqueue(chunk);
            while (Recent.Count > 0 && EndOf(Recent.Peek()) < _newest - keepSamples)
            {
                Recent.Dequeue();
            }
        }

        private static long EndOf(MediaChunk chunk) => chunk switch
        {
            AudioChunk a => StreamClock.Samples(a.Timestamp) + a.Samples.Length,
            VideoChunk v => (FrameOf(v.Timestamp) + v.Crops.Count) * StreamClock.SamplesPerFrame,
            _ => 0,
        };
    }
}
