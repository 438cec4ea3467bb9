using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using EdgeAvsr.Runtime.Audio.Vad;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Video;

namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>
/// The streaming AVSR pipeline: audio chunks and mouth-crop frames arrive stamped with stream time; the VAD finds
/// utterances (video-only streams are cut into windows), running speech yields partial captions every
/// <see cref="AvsrPipelineOptions.PartialInterval"/> of stream time and a final caption when it ends. Four stages run
/// concurrently (capture and segmentation; front-ends; encoders + projector; decoder) joined by bounded channels, so a
/// slow stage applies back-pressure. Nothing depends on the wall clock: the same stream gives the same captions however fast it
/// is fed. <c>edgeavsr transcribe</c> runs a file through it.
/// </summary>
public sealed class AvsrPipeline
{
    private readonly AvsrModels _models;
    private readonly AvsrPipelineOptions _options;
    private readonly MediaStreams _streams;
    private readonly PipelineMonitor _monitor;

    public AvsrPipeline(AvsrModels models, AvsrTask task, MediaStreams streams, AvsrPipelineOptions? options = null)
        : this(models, task, streams, options, monitor: null)
    {
    }

    /// <summary>A pipeline that reports into <paramref name="monitor"/> (a live captioner's, shared by the pipelines it builds).</summary>
    internal AvsrPipeline(AvsrModels models, AvsrTask task, MediaStreams streams, AvsrPipelineOptions? options, PipelineMonitor? monitor)
    {
        _models = models ?? throw new ArgumentNullException(nameof(models));
        _options = options ?? new AvsrPipelineOptions();
        _streams = streams;
        if (_options.QueueCapacity < 1)
        {
            throw new EdgeAvsrException($"queue capacity {_options.QueueCapacity} must be at least 1");
        }
        _monitor = monitor ?? new PipelineMonitor(task, _options.LatencyWindow);
        if (_options.MaxUtterance <= TimeSpan.Zero || _options.MaxUtterance > TimeSpan.FromSeconds(30))
        {
            throw new EdgeAvsrException($"utterances of at most {_options.MaxUtterance.TotalSeconds} s: the audio encoder takes 30 s at most");
        }
        Recognizer = new UtteranceRecognizer(models, task, _options.Recognition);
        // The cutter never hands the audio encoder more than its window.
        MaxUtterance = Recognizer.AudioWindow is { } window && window < _options.MaxUtterance ? window : _options.MaxUtterance;
        TaskSelection.RequireStreams(task, streams);
        UsesVad = streams.HasAudio && models.Vad is not null;
        bool encodersOnCpu = (Recognizer.UsesAudio && models.AudioEncoder!.Provider == Onnx.ExecutionProvider.Cpu)
            || (Recognizer.UsesVideo && models.VideoEncoder!.Provider == Onnx.ExecutionProvider.Cpu);
        bool decoderOnCpu = models.DecoderModel.Backend.Kind == "CPU";
        OverlapsEncodersAndDecoder = _options.OverlapEncodersAndDecoder ?? !(encodersOnCpu && decoderOnCpu);
    }

    /// <summary>Encoders and decoder compute at the same time (else they take turns; see <see
    /// cref="AvsrPipelineOptions.OverlapEncodersAndDecoder"/>).</summary>
    public bool OverlapsEncodersAndDecoder { get; }

    public UtteranceRecognizer Recognizer { get; }

    public AvsrTask Task => Recognizer.Task;

    /// <summary>The longest utterance cut: <see cref="AvsrPipelineOptions.MaxUtterance"/>, capped at the audio encoder's window.</summary>
    public TimeSpan MaxUtterance { get; }

    /// <summary>Partials not computed because a stage was busy or a newer caption of the utterance was waiting (<see
    /// cref="AvsrPipelineOptions.SkipPartialsWhenBusy"/>).</summary>
    public int PartialsDropped => (int)_monitor.PartialsDropped;

    /// <summary>What the stages are doing: a thread-safe snapshot, cheap enough to take while captions flow.</summary>
    public PipelineHealth Health => _monitor.Snapshot();

    public MediaStreams Streams => _streams;

    /// <summary>Utterances come from the VAD (audio present) rather than fixed windows.</summary>
    public bool UsesVad { get; }

    /// <summary>Runs <paramref name="source"/> through the stages; captions come in stream order, each utterance's partials before its final.</summary>
    public IAsyncEnumerable<Caption> RunAsync(IAsyncEnumerable<MediaChunk> source, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        return RunAsync(source, new PipelineRun(), cancellation);
    }

    /// <summary>Runs from <paramref name="run"/>'s stream position and utterance number (a live captioner's next pipeline).</summary>
    internal async IAsyncEnumerable<Caption> RunAsync(IAsyncEnumerable<MediaChunk> source, PipelineRun run,
        [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var token = stop.Token;
        var jobs = Bounded<UtteranceJob>();
        var featured = Bounded<FeaturedUtterance>();
        var projected = Bounded<ProjectedUtterance>();
        var captions = Bounded<Caption>();
        using var gate = OverlapsEncodersAndDecoder ? null : new SemaphoreSlim(1, 1);
        QueueDepths Depths() => new(jobs.Reader.Count, featured.Reader.Count, projected.Reader.Count, captions.Reader.Count, _options.QueueCapacity);
        Func<QueueDepths> depths = Depths;
        _monitor.Attach(Task, depths);
        Task[] stages =
        [
            System.Threading.Tasks.Task.Run(() => Guard(jobs.Writer, () => SegmentAsync(source, jobs.Writer, run, token)), token),
            System.Threading.Tasks.Task.Run(() => Guard(featured.Writer, () => PumpAsync(jobs.Reader, featured.Writer, PipelineStage.FrontEnd,
                j => Timed(PipelineStage.FrontEnd, () => Recognizer.FrontEnd(j)), j => j.Span, token)), token),
            System.Threading.Tasks.Task.Run(() => Guard(projected.Writer, () => PumpAsync(featured.Reader, projected.Writer, PipelineStage.EncodeProject,
                u => Exclusive(gate, () => Timed(PipelineStage.EncodeProject, () => Recognizer.Encode(u))), u => u.Job.Span, token)), token),
            System.Threading.Tasks.Task.Run(() => Guard(captions.Writer, () => PumpAsync(projected.Reader, captions.Writer, PipelineStage.Decode,
                p => Captioned(p, Exclusive(gate, () => Timed(PipelineStage.Decode, () => Recognizer.Decode(p, token)))), p => p.Job.Span, token)), token),
        ];
        try
        {
            while (true)
            {
                Caption caption;
                try
                {
                    if (!await captions.Reader.WaitToReadAsync(token).ConfigureAwait(false))
                    {
                        break;
                    }
                    if (!captions.Reader.TryRead(out caption!))
                    {
                        continue;
                    }
                }
                catch (ChannelClosedException e) when (e.InnerException is not null)
                {
                    ExceptionDispatchInfo.Capture(e.InnerException).Throw();
                    throw;
                }
                yield return caption;
            }
            await System.Threading.Tasks.Task.WhenAll(stages).ConfigureAwait(false);
        }
        finally
        {
            // The consumer stopped early or a stage failed: stop the others and wait for them to let go of the models.
            await stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await System.Threading.Tasks.Task.WhenAll(stages).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or EdgeAvsrException or ChannelClosedException)
            {
                // Reported through the caption channel already (or the consumer chose to stop).
            }
            finally
            {
                _monitor.Detach(depths);
            }
        }
    }

    private T Timed<T>(PipelineStage stage, Func<T> work)
    {
        long start = Stopwatch.GetTimestamp();
        var result = work();
        _monitor.Stage(stage, Stopwatch.GetTimestamp() - start);
        return result;
    }

    private Caption Captioned(ProjectedUtterance utterance, Caption caption)
    {
        _monitor.Captioned(caption.IsFinal, utterance.Job.DecidedAtTimestamp);
        return caption;
    }

    private Channel<T> Bounded<T>() => Channel.CreateBounded<T>(new BoundedChannelOptions(_options.QueueCapacity)
    {
        SingleReader = true,
        SingleWriter = true,
        FullMode = BoundedChannelFullMode.Wait,
    });

    private static T Exclusive<T>(SemaphoreSlim? gate, Func<T> work)
    {
        gate?.Wait();
        try
        {
            return work();
        }
        finally
        {
            gate?.Release();
        }
    }

    private static async Task Guard<T>(ChannelWriter<T> output, Func<Task> stage)
    {
        try
        {
            await stage().ConfigureAwait(false);
            output.TryComplete();
        }
        catch (Exception e)
        {
            output.TryComplete(e);
            throw;
        }
    }

    private async Task PumpAsync<TIn, TOut>(ChannelReader<TIn> input, ChannelWriter<TOut> output, PipelineStage stage, Func<TIn, TOut> work,
        Func<TIn, UtteranceSpan> span, CancellationToken token)
    {
        while (await input.WaitToReadAsync(token).ConfigureAwait(false))
        {
            while (input.TryRead(out var item))
            {
                // Live: a partial with a newer partial or the final of its utterance already waiting behind it is stale;
                // computing it would only delay the caption the user is waiting for.
                if (_options.SkipPartialsWhenBusy && IsStale(span(item), input, span))
                {
                    _monitor.PartialDropped();
                    continue;
                }
                _options.StageProbe?.Invoke(stage, span(item));
                await output.WriteAsync(work(item), token).ConfigureAwait(false);
            }
        }
    }

    private static bool IsStale<TIn>(UtteranceSpan current, ChannelReader<TIn> input, Func<TIn, UtteranceSpan> span) =>
        !current.IsFinal && input.TryPeek(out var next) && span(next).Id == current.Id;

    private async Task SegmentAsync(IAsyncEnumerable<MediaChunk> source, ChannelWriter<UtteranceJob> jobs, PipelineRun run, CancellationToken token)
    {
        // A run that starts later in the stream (a live captioner's next pipeline) starts its buffers and its utterance
        // numbers there; the VAD starts afresh, so its positions count from the run's start.
        var audio = new SampleBuffer(run.StartSample);
        var video = new FrameBuffer(StreamClock.FrameAtOrAfter(run.StartSample));
        var vad = UsesVad ? _models.Vad!.OpenStream(_options.Vad) : null;
        var cutter = new UtteranceCutter(
            StreamClock.Samples(MaxUtterance),
            StreamClock.Samples(_options.MinUtterance),
            (long)_options.Vad.SpeechPadMs * StreamClock.SampleRate / 1000,
            _options.PartialInterval is { } p ? StreamClock.Samples(p) : null,
            run.StartSample,
            run.FirstUtterance);
        var spans = new List<UtteranceSpan>();
        var waiting = new Queue<Pending>();
        await foreach (var chunk in source.WithCancellation(token).ConfigureAwait(false))
        {
            long arrived = Stopwatch.GetTimestamp();
            IReadOnlyList<SpeechSegment> closed = [];
            switch (chunk)
            {
                case AudioChunk a when _streams.HasAudio:
                    int silence = audio.Append(a);
                    _monitor.Filled(silence, 0);
                    if (vad is not null)
                    {
                        // The VAD counts samples: it must hear a dropout's silence too, or every boundary it reports
                        // after the gap would lag the stream clock by the gap's length.
                        closed = silence > 0 ? [.. vad.Push(new float[silence]), .. vad.Push(a.Samples)] : vad.Push(a.Samples);
                    }
                    break;
                case VideoChunk v when _streams.HasVideo:
                    _monitor.Filled(0, video.Append(v));
                    break;
                case StreamStateChunk:
                    // This pipeline's task is fixed; whoever built it decides what a change of live streams means.
                    continue;
                default:
                    throw new EdgeAvsrException($"the source declared {_streams} but sent a {(chunk is AudioChunk ? "audio" : "video")} chunk at " +
                        $"{chunk.Timestamp.TotalSeconds:0.###} s");
            }
            long position = _streams.HasAudio ? audio.End : video.End * StreamClock.SamplesPerFrame;
            spans.Clear();
            if (vad is not null)
            {
                cutter.Advance(position, closed, vad.OpenSpeechStart + run.StartSample, spans, vad.HasPendingSegment);
            }
            else
            {
                cutter.AdvanceWithoutVad(position, spans);
            }
            foreach (var s in spans)
            {
                waiting.Enqueue(new Pending(s, arrived));
            }
            long segmenting = Stopwatch.GetTimestamp() - arrived;
            segmenting += await SendReadyAsync(waiting, audio, video, jobs, run, position, sourceEnded: false, token).ConfigureAwait(false);
            _monitor.Stage(PipelineStage.Segment, segmenting);
            // Keep what an utterance still being decided may need: from the last final cut, and at most the longest utterance plus slack.
            long keepFrom = Math.Max(cutter.FinalizedUpTo, position - StreamClock.Samples(MaxUtterance) - StreamClock.SampleRate * 2L);
            if (waiting.Count > 0)
            {
                keepFrom = Math.Min(keepFrom, waiting.Peek().Span.StartSample);
            }
            audio.DropBefore(keepFrom);
            video.DropBefore(keepFrom / StreamClock.SamplesPerFrame);
        }
        long ended = Stopwatch.GetTimestamp();
        spans.Clear();
        long end = _streams.HasAudio ? audio.End : video.End * StreamClock.SamplesPerFrame;
        if (vad is not null)
        {
            cutter.Finish(end, vad.Finish(), spans);
        }
        else
        {
            cutter.FinishWithoutVad(end, spans);
        }
        foreach (var s in spans)
        {
            waiting.Enqueue(new Pending(s, ended));
        }
        await SendReadyAsync(waiting, audio, video, jobs, run, end, sourceEnded: true, token).ConfigureAwait(false);
    }

    /// <summary>An utterance cut and waiting for its video; <see cref="DecidedAtTimestamp"/>: when the chunk that decided it arrived.</summary>
    private readonly record struct Pending(UtteranceSpan Span, long DecidedAtTimestamp);

    /// <summary>Hands out the utterances whose video has arrived (or all, at the end of the source); returns the ticks spent cutting.</summary>
    private async Task<long> SendReadyAsync(Queue<Pending> waiting, SampleBuffer audio, FrameBuffer video, ChannelWriter<UtteranceJob> jobs,
        PipelineRun run, long position, bool sourceEnded, CancellationToken token)
    {
        long cutting = 0;
        // The audio ran so far past the last frame that the video is not coming (a camera that stopped): stop waiting for it.
        bool videoGaveOut = _options.VideoWait is { } wait && position - video.End * StreamClock.SamplesPerFrame > StreamClock.Samples(wait);
        while (waiting.Count > 0)
        {
            var (span, decidedAt) = waiting.Peek();
            long lastFrame = StreamClock.FrameAtOrAfter(span.EndSample);
            if (Recognizer.UsesVideo && !sourceEnded && !videoGaveOut && video.End < lastFrame)
            {
                break;
            }
            waiting.Dequeue();
            long start = Stopwatch.GetTimestamp();
            var job = Cut(span, audio, video, run.DropFinalsWithoutVideo || _options.VideoWait is not null, decidedAt);
            cutting += Stopwatch.GetTimestamp() - start;
            if (job is null)
            {
                continue;
            }
            if (!span.IsFinal && _options.SkipPartialsWhenBusy)
            {
                if (jobs.TryWrite(job))
                {
                    _monitor.Cut(final: false);
                }
                else
                {
                    _monitor.PartialDropped();
                }
            }
            else
            {
                await jobs.WriteAsync(job, token).ConfigureAwait(false);
                _monitor.Cut(span.IsFinal);
            }
        }
        return cutting;
    }

    private UtteranceJob? Cut(UtteranceSpan span, SampleBuffer audio, FrameBuffer video, bool dropFinalsWithoutVideo, long decidedAt)
    {
        float[]? samples = Recognizer.UsesAudio ? audio.Slice(span.StartSample, span.EndSample) : null;
        GrayFrames? frames = null;
        long first = 0;
        if (Recognizer.UsesVideo)
        {
            first = Math.Max(StreamClock.FrameAtOrAfter(span.StartSample), video.Offset);
            long end = Math.Min(StreamClock.FrameAtOrAfter(span.EndSample), video.End);
            if (end - first < Recognizer.MinVideoFrames)
            {
                if (!span.IsFinal)
                {
                    return null;
                }
                if (dropFinalsWithoutVideo)
                {
                    // Live: the camera stopped before this utterance had video; the captioner says so.
                    _monitor.FinalDropped();
                    return null;
                }
                throw new EdgeAvsrException($"utterance {span.Start:0.###}-{span.End:0.###} s has {Math.Max(0, end - first)} video frames; the video " +
                    $"stream covers {video.Offset / 25.0:0.###}-{video.End / 25.0:0.###} s and the projector needs at least {Recognizer.MinVideoFrames}");
            }
            frames = video.Slice(first, end);
        }
        return new UtteranceJob(span, samples, frames, first, decidedAt);
    }
}
