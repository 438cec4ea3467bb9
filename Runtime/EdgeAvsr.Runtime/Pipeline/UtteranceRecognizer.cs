using System.Diagnostics;
using EdgeAvsr.Runtime.Audio;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Projector;
using EdgeAvsr.Runtime.Video;

namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>The media of one utterance, cut from the stream; <see cref="DecidedAtTimestamp"/> (a Stopwatch stamp) is when it was decided.</summary>
internal sealed record UtteranceJob(UtteranceSpan Span, float[]? Audio, GrayFrames? Video, long VideoFirst, long DecidedAtTimestamp = 0);

/// <summary>An utterance after the front-ends: log-mel [80, 3000] and its audio duration, mouth ROI [T, 88, 88].</summary>
internal sealed record FeaturedUtterance(UtteranceJob Job, float[]? LogMel, double AudioSeconds, float[]? Roi, int Frames, TimeSpan FrontEnd);

/// <summary>An utterance after the projector: the decoder's embeddings and what the earlier stages cost.</summary>
internal sealed record ProjectedUtterance(UtteranceJob Job, ModalityTokens? Audio, ModalityTokens? Video, TimeSpan FrontEnd, TimeSpan Encoders,
    TimeSpan Projector);

/// <summary>
/// One utterance through the model: front-ends (waveform normalisation and Whisper log-mel; mouth ROI: <see cref="FrontEnd"/>),
/// encoders and SMoP projector (<see cref="Encode"/>), then the prompt with the projected tokens and generation
/// (<see cref="Decode"/>). The three parts run on different threads in <see cref="AvsrPipeline"/>; each is used by one thread at a time.
/// </summary>
public sealed class UtteranceRecognizer
{
    private readonly AvsrModels _models;
    private readonly RecognitionOptions _options;
    private readonly WhisperLogMel _logMel;
    private readonly string _prompt;
    private readonly bool _scaleWithDuration;

    public UtteranceRecognizer(AvsrModels models, AvsrTask task, RecognitionOptions? options = null)
    {
        _models = models ?? throw new ArgumentNullException(nameof(models));
        _options = options ?? new RecognitionOptions();
        var m = models.Manifest;
        if (!m.Tasks.Contains(task))
        {
            throw new EdgeAvsrException($"{models.Pack.Directory}: the pack does not support task {task.ToText()} (it supports " +
                $"{string.Join(", ", m.Tasks.Select(t => t.ToText()))})");
        }
        Task = task;
        _prompt = m.Prompts[task];
        // The encoder's window (front_end.mel_frames): Whisper's 3000 frames, or the shorter one a model was trained on.
        _logMel = new WhisperLogMel(_options.FrontEndThreads, models.AudioEncoder?.AudioWindowFrames ?? m.FrontEnd.MelFrames);
        Beams = _options.Beams ?? m.Decoding.Beams;
        MaxNewTokens = _options.MaxNewTokens ?? m.Decoding.MaxNewTokens;
        _scaleWithDuration = _options.MaxNewTokens is null;
        if (Beams < 1 || MaxNewTokens < 1)
        {
            throw new EdgeAvsrException($"beams ({Beams}) and max new tokens ({MaxNewTokens}) must be at least 1");
        }
    }

    public AvsrTask Task { get; }

    public bool UsesAudio => Task != AvsrTask.Vsr;

    public bool UsesVideo => Task != AvsrTask.Asr;

    public int Beams { get; }

    public int MaxNewTokens { get; }

    /// <summary>Longest audio the audio encoder takes (its log-mel window); null when the task reads no audio.</summary>
    public TimeSpan? AudioWindow => UsesAudio ? TimeSpan.FromSeconds((double)_logMel.WindowSamples / WhisperLogMel.SampleRate) : null;

    /// <summary>
    /// Token budget per second of an utterance when the pack's default is used: fast read speech runs about 3.5 words
    /// (under 5 Llama-3 tokens) a second, so 6 leaves room without letting a looping model run long.
    /// </summary>
    public const double TokensPerSecond = 6;

    /// <summary>The new-token limit for an utterance of <paramref name="seconds"/>.</summary>
    public int MaxNewTokensFor(double seconds) =>
        _scaleWithDuration ? Math.Max(MaxNewTokens, (int)Math.Ceiling(TokensPerSecond * seconds)) : MaxNewTokens;

    /// <summary>The fewest frames a video utterance needs (one pooled token).</summary>
    public int MinVideoFrames => _models.Manifest.Projector.Routing.VideoPool;

    /// <summary>Front-ends: waveform normalisation and Whisper log-mel; mouth ROI.</summary>
    internal FeaturedUtterance FrontEnd(UtteranceJob job)
    {
        var clock = Stopwatch.StartNew();
        float[]? mel = null;
        double seconds = 0;
        if (UsesAudio)
        {
            float[] samples = job.Audio ?? throw new InvalidOperationException("audio utterance without samples");
            seconds = (double)samples.Length / WhisperLogMel.SampleRate;
            mel = _logMel.Compute(_models.Manifest.FrontEnd.WaveformNormalization ? WaveformNormalization.Normalize(samples) : samples);
        }
        float[]? roi = null;
        int frames = 0;
        if (UsesVideo)
        {
            var crops = job.Video ?? throw new InvalidOperationException("video utterance without frames");
            roi = MouthRoi.FromCrops(crops);
            frames = crops.Count;
        }
        return new FeaturedUtterance(job, mel, seconds, roi, frames, clock.Elapsed);
    }

    /// <summary>Encoders, then the SMoP projector.</summary>
    internal ProjectedUtterance Encode(FeaturedUtterance featured)
    {
        var clock = Stopwatch.StartNew();
        var audioStates = featured.LogMel is null ? null : _models.AudioEncoder!.EncodeAudio(featured.LogMel, featured.AudioSeconds);
        var videoStates = featured.Roi is null ? null : _models.VideoEncoder!.EncodeVideo(featured.Roi, featured.Frames);
        var encoders = clock.Elapsed;
        clock.Restart();
        var projected = _models.Projector.Project(audioStates, videoStates);
        return new ProjectedUtterance(featured.Job, projected.Audio, projected.Video, featured.FrontEnd, encoders, clock.Elapsed);
    }

    internal Caption Decode(ProjectedUtterance utterance, CancellationToken cancellation)
    {
        var span = utterance.Job.Span;
        var prompt = DecoderPrompt.ForAvsr(_models.DecoderModel, Task, utterance.Audio?.Tokens, utterance.Video?.Tokens, _prompt);
        int beams = span.IsFinal ? Beams : 1;
        var result = _models.Decoder.Generate(prompt, new GenerationOptions
        {
            Beams = beams,
            MaxNewTokens = MaxNewTokensFor(span.End - span.Start),
            KeepFirstLogits = span.IsFinal && _options.KeepFirstLogits,
        }, cancellation: cancellation);
        int positions = result.Tokens.Length + (result.Stop == StopReason.EndOfGeneration ? 1 : 0);
        // Greedy scores are summed log-probabilities; beam search already divides by the length (HF length_penalty 1).
        double average = beams > 1 ? result.Score : result.Score / Math.Max(positions, 1);
        var video = utterance.Job.Video;
        return new Caption
        {
            Utterance = span.Id,
            IsFinal = span.IsFinal,
            Task = Task,
            Start = span.Start,
            End = span.End,
            DecidedAt = StreamClock.Seconds(span.DecidedAtSample),
            Text = result.Text.Trim(),
            Tokens = result.Tokens,
            AverageLogProbability = average,
            Stop = result.Stop,
            AudioSamples = UsesAudio ? (span.StartSample, utterance.Job.Audio!.Length) : (0, 0),
            VideoFrames = UsesVideo && video is not null ? (utterance.Job.VideoFirst, video.Count) : (0, 0),
            AudioExperts = Histogram(utterance.Audio),
            VideoExperts = Histogram(utterance.Video),
            Timings = new StageTimings(utterance.FrontEnd, utterance.Encoders, utterance.Projector, result.Timings.Prefill, result.Timings.Generation),
            FirstLogits = result.FirstLogits,
        };
    }

    private int[]? Histogram(ModalityTokens? tokens)
    {
        if (tokens is null)
        {
            return null;
        }
        var counts = new int[_models.Manifest.Projector.Experts];
        foreach (int e in tokens.Experts)
        {
            counts[e]++;
        }
        return counts;
    }
}
