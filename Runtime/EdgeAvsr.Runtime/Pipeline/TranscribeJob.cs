using System.Diagnostics;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Pack;

namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>What <c>edgeavsr transcribe</c> asks for.</summary>
public sealed record TranscribeRequest
{
    public required string PackPath { get; init; }

    public required MediaClipRequest Media { get; init; }

    /// <summary>asr, vsr, avsr or auto.</summary>
    public string Task { get; init; } = "auto";

    public AvsrModelOptions Models { get; init; } = new();

    public RecognitionOptions Recognition { get; init; } = new();

    /// <summary>Where to write the first segment's first-step logits (.npy float32 [n_vocab]).</summary>
    public string? FirstLogitsPath { get; init; }

    /// <summary>See <see cref="AvsrPipelineOptions.OverlapEncodersAndDecoder"/>.</summary>
    public bool? OverlapEncodersAndDecoder { get; init; }

    /// <summary>Stream time fed per chunk (the pipeline's result does not depend on it).</summary>
    public TimeSpan Chunk { get; init; } = TimeSpan.FromSeconds(0.5);

    /// <summary>Lines about what was chosen and loaded (task, providers, backend).</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Stream position fed so far and the clip's duration, in seconds.</summary>
    public Action<double, double>? Progress { get; init; }
}

/// <summary>A transcribed clip: final captions, what ran, and what it cost.</summary>
public sealed record Transcript
{
    public required string Model { get; init; }

    public required AvsrTask Task { get; init; }

    public required string TaskReason { get; init; }

    public required string Media { get; init; }

    public required double DurationSeconds { get; init; }

    public required IReadOnlyList<Caption> Segments { get; init; }

    /// <summary>Time the source spent decoding the media (ffmpeg, resampling, crops), overlapped with the other stages.</summary>
    public required TimeSpan MediaDecode { get; init; }

    /// <summary>Wall time loading the pack (not part of the real-time factor).</summary>
    public required TimeSpan Load { get; init; }

    /// <summary>Per-stage time summed over the segments (stages overlap in the pipeline, so the sum can exceed the wall time).</summary>
    public required StageTimings Stages { get; init; }

    /// <summary>Wall time of the pipeline, media decoding included.</summary>
    public required TimeSpan Processing { get; init; }

    /// <summary>Processing time over media duration (below 1: faster than real time).</summary>
    public double RealTimeFactor => DurationSeconds > 0 ? Processing.TotalSeconds / DurationSeconds : 0;

    /// <summary>The process's peak resident memory (VmHWM) at the end.</summary>
    public required long PeakMemoryBytes { get; init; }
}

/// <summary>A clip through <see cref="AvsrPipeline"/> as a file source (finals only), with timing and memory.</summary>
public static class TranscribeJob
{
    public static async Task<Transcript> RunAsync(TranscribeRequest request, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        // Cheap checks first: the media's streams and the pack's manifest decide the task before anything heavy loads.
        var streams = MediaClip.Probe(request.Media);
        if (!Directory.Exists(request.PackPath))
        {
            throw new EdgeAvsrException($"{request.PackPath}: no such model pack folder");
        }
        var manifest = PackManifestJson.Read(Path.Combine(request.PackPath, PackManifest.FileName));
        var (task, reason) = TaskSelection.Choose(request.Task, streams, manifest.Tasks);
        request.Log?.Invoke($"task: {task.ToText()} ({reason})");
        if (request.FirstLogitsPath is { } logitsPath && !Directory.Exists(Path.GetDirectoryName(Path.GetFullPath(logitsPath))))
        {
            throw new EdgeAvsrException($"{logitsPath}: the folder does not exist");
        }
        // Audio is decoded for the VAD even when the task reads only the lips.
        var source = new MediaFileSource(request.Media, wantAudio: streams.HasAudio, wantVideo: task != AvsrTask.Asr, streams);
        var loadClock = Stopwatch.StartNew();
        // Without sound the pipeline cuts fixed windows: the VAD (and its model file) is not needed.
        using var models = AvsrModels.Load(request.PackPath, request.Models with
        {
            Log = request.Models.Log ?? request.Log,
            LoadVad = request.Models.LoadVad && source.Streams.HasAudio,
        });
        var load = loadClock.Elapsed;
        var pipeline = new AvsrPipeline(models, task, source.Streams, new AvsrPipelineOptions
        {
            PartialInterval = null,
            OverlapEncodersAndDecoder = request.OverlapEncodersAndDecoder,
            Recognition = request.Recognition with { KeepFirstLogits = request.Recognition.KeepFirstLogits || request.FirstLogitsPath is not null },
        });
        request.Log?.Invoke(pipeline.UsesVad ? "utterances: cut at the VAD's speech boundaries, at most 30 s" : "utterances: windows of at most 30 s (no audio for the VAD)");
        request.Log?.Invoke(pipeline.OverlapsEncodersAndDecoder ? "stages: encoders and decoder compute concurrently" : "stages: encoders and decoder take turns (both on the CPU)");
        var clock = Stopwatch.StartNew();
        var segments = new List<Caption>();
        var stages = StageTimings.Zero;
        await foreach (var caption in pipeline.RunAsync(Reporting(source, request.Chunk, request.Progress, cancellation), cancellation).ConfigureAwait(false))
        {
            segments.Add(caption);
            stages = stages.Add(caption.Timings);
        }
        var processing = clock.Elapsed;
        request.Log?.Invoke($"media: {source.Description}; {source.DecodeTime.TotalMilliseconds:0} ms spent decoding");
        if (request.FirstLogitsPath is { } path)
        {
            var first = segments.FirstOrDefault()?.FirstLogits ?? throw new EdgeAvsrException($"{path}: no segment was transcribed, so there are no first-step logits to write");
            NpyFile.Write(path, first, first.Length);
        }
        using var process = Process.GetCurrentProcess();
        return new Transcript
        {
            Model = manifest.Name,
            Task = task,
            TaskReason = reason,
            Media = source.Description,
            DurationSeconds = source.DurationSeconds,
            Segments = segments,
            MediaDecode = source.DecodeTime,
            Load = load,
            Stages = stages,
            Processing = processing,
            PeakMemoryBytes = process.PeakWorkingSet64,
        };
    }

    private static async IAsyncEnumerable<MediaChunk> Reporting(MediaFileSource source, TimeSpan chunk, Action<double, double>? progress, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellation = default)
    {
        double fed = 0, duration = source.EstimatedDurationSeconds;
        await foreach (var c in source.ReadAsync(chunk, cancellation).ConfigureAwait(false))
        {
            // Video and audio chunks of one step carry slightly different stamps: report the furthest.
            fed = Math.Max(fed, c.Timestamp.TotalSeconds);
            progress?.Invoke(Math.Min(fed, duration), duration);
            yield return c;
        }
        progress?.Invoke(duration, duration);
    }
}
