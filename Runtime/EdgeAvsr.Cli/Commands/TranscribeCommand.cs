using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Onnx;
using EdgeAvsr.Runtime.Pack;
using EdgeAvsr.Runtime.Pipeline;
using EdgeAvsr.Runtime.Projector;
using EdgeAvsr.Runtime.Video;

namespace EdgeAvsr.Cli.Commands;

/// <summary>What <c>edgeavsr transcribe</c> asks for.</summary>
internal sealed record TranscribeRequest
{
    public required string PackPath { get; init; }

    public required MediaClipRequest Media { get; init; }

    /// <summary>The task, or null to choose one from the streams and the pack.</summary>
    public AvsrTask? Task { get; init; }

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

/// <summary><c>edgeavsr transcribe</c>: a clip through the streaming pipeline, as text, JSON, SubRip or WebVTT.</summary>
internal static class TranscribeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model pack folder (from edgeavsr-quantize pack)", Required = true };
        var input = new Option<string?>("--input") { Description = "One media file; its audio and video streams are used" };
        var audio = new Option<string?>("--audio") { Description = "Audio file (instead of --input)" };
        var video = new Option<string?>("--video") { Description = "Video file (instead of --input)" };
        var task = ChoiceOptions.OrNone<AvsrTask>("--task", "auto | asr | vsr | avsr (auto: avsr when both streams exist, else asr or vsr)", "auto");
        var format = ChoiceOptions.Of<TranscriptFormat>("--format", "text | json | srt | vtt", TranscriptFormat.Text);
        var beams = new Option<int?>("--beams") { Description = "Beam width (default: the pack's)" };
        var maxTokens = new Option<int?>("--max-new-tokens") { Description = "Most new tokens per segment (default: the pack's)" };
        var ep = CommonOptions.ProvidersOverride("Execution providers for the encoders instead of the pack's (e.g. cpu)");
        var threads = CommonOptions.Threads("Threads per stage (default: one per core)");
        var exact = new Option<bool>("--exact-numerics") { Description = "Decoder without flash attention and with an F32 KV cache (verification runs)" };
        var threadPolicy = CommonOptions.ThreadPolicy();
        var backend = CommonOptions.Backend("Decoder backend: auto | cpu | cuda");
        var projectorDevice = ChoiceOptions.OrNone<ProjectorDevice>("--projector-device",
            "cpu | cuda: where the INT8 projector runs (default: the pack's projector.device, else cpu)");
        var firstLogits = new Option<string?>("--first-logits") { Description = "Write the first segment's first-step logits here (.npy float32 [n_vocab])" };
        var output = new Option<string?>("--out") { Description = "Write the transcript here instead of stdout" };
        var landmarks = new Option<string?>("--landmarks") { Description = "Face-landmark ONNX model for full-face video (docs/landmark-model.md)" };
        var inputKind = FramesCommand.InputKind("auto | crops | face: what the video holds");
        var verify = new Option<bool>("--verify") { Description = "Check every pack file's SHA-256 before loading" };
        var overlap = ChoiceOptions.Of<Overlap>("--overlap",
            "auto | on | off: let the encoders and the decoder compute at the same time (auto: only when they do not share the CPU)", Overlap.Auto);
        var verbose = new Option<bool>("--verbose") { Description = "Say on stderr what was loaded and where it runs" };
        var command = new Command("transcribe",
            "Transcribe a clip (audio, video or both) with a model pack: VAD-cut segments of at most 30 s, with timestamps");
        var options = new Option[]
        {
            model, input, audio, video, task, format, beams, maxTokens, ep, threads, threadPolicy, exact, backend, firstLogits, output, landmarks,
            inputKind, verify, overlap, verbose, projectorDevice,
        };
        foreach (var o in options)
        {
            command.Options.Add(o);
        }
        CommandActions.SetAsync(command, async (parse, cancellation) =>
        {
            var fmt = parse.GetValue(format);
            string? providers = parse.GetValue(ep);
            string? inputPath = parse.GetValue(input), audioPath = parse.GetValue(audio), videoPath = parse.GetValue(video);
            if (inputPath is not null && (audioPath is not null || videoPath is not null))
            {
                throw new EdgeAvsrException("give --input, or --audio and/or --video, not both");
            }
            if (inputPath is null && audioPath is null && videoPath is null)
            {
                throw new EdgeAvsrException("no media: give --input CLIP, or --audio A and/or --video V");
            }
            bool chatty = parse.GetValue(verbose);
            Action<string> log = line => Console.Error.WriteLine(line);
            var progress = ProgressBar.ForStandardError();
            var request = new TranscribeRequest
            {
                PackPath = parse.GetValue(model)!,
                Media = new MediaClipRequest
                {
                    InputPath = inputPath,
                    AudioPath = audioPath,
                    VideoPath = videoPath,
                    LandmarkModel = parse.GetValue(landmarks),
                    VideoKind = parse.GetValue(inputKind),
                },
                Task = parse.GetValue(task),
                Models = new AvsrModelOptions
                {
                    Threads = parse.GetValue(threads),
                    EncoderProviders = providers is null ? null : CommonOptions.ParseProviders(providers),
                    ExactNumerics = parse.GetValue(exact),
                    DecoderThreadPolicy = parse.GetValue(threadPolicy),
                    VerifyHashes = parse.GetValue(verify),
                    DecoderBackend = parse.GetValue(backend),
                    ProjectorDevice = parse.GetValue(projectorDevice),
                    Log = chatty ? log : _ => { },
                },
                Recognition = new RecognitionOptions { Beams = parse.GetValue(beams), MaxNewTokens = parse.GetValue(maxTokens) },
                OverlapEncodersAndDecoder = parse.GetValue(overlap) switch
                {
                    Overlap.On => true,
                    Overlap.Off => false,
                    _ => null,
                },
                FirstLogitsPath = parse.GetValue(firstLogits),
                Log = log,
                Progress = progress is null ? null : progress.Report,
            };
            var transcript = await RunAsync(request, cancellation).ConfigureAwait(false);
            progress?.Clear();
            string text = TranscriptWriter.Write(transcript, fmt);
            if (parse.GetValue(output) is { } path)
            {
                AtomicFile.WriteAllText(path, text);
            }
            else
            {
                Console.Out.Write(text);
            }
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{transcript.Segments.Count} segment(s), {transcript.DurationSeconds:0.##} s of media in {transcript.Processing.TotalSeconds:0.##} s "
                + $"(real-time factor {transcript.RealTimeFactor:0.###}), peak memory {transcript.PeakMemoryBytes / (1024.0 * 1024.0):0} MiB"));
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>A clip through <see cref="AvsrPipeline"/> as a file source (finals only), with timing and memory.</summary>
    public static async Task<Transcript> RunAsync(TranscribeRequest request, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        // Cheap checks first: the media's streams and the pack's manifest decide the task before anything heavy loads.
        var inspected = MediaClip.Inspect(request.Media);
        var streams = inspected.Streams;
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
        var source = new MediaFileSource(request.Media, wantAudio: streams.HasAudio, wantVideo: task != AvsrTask.Asr, inspected);
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
        string most = pipeline.MaxUtterance.TotalSeconds.ToString("0.##", CultureInfo.InvariantCulture);
        request.Log?.Invoke(pipeline.UsesVad
            ? $"utterances: cut at the VAD's speech boundaries, at most {most} s"
            : $"utterances: windows of at most {most} s (no audio for the VAD)");
        request.Log?.Invoke(pipeline.OverlapsEncodersAndDecoder
            ? "stages: encoders and decoder compute concurrently"
            : "stages: encoders and decoder take turns (both on the CPU)");
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
            var first = segments.FirstOrDefault()?.FirstLogits
                ?? throw new EdgeAvsrException($"{path}: no segment was transcribed, so there are no first-step logits to write");
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

    private static async IAsyncEnumerable<MediaChunk> Reporting(MediaFileSource source, TimeSpan chunk, Action<double, double>? progress,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellation = default)
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

    // The words of --overlap.
    private enum Overlap
    {
        Auto,
        On,
        Off,
    }

    /// <summary>A one-line bar on stderr, only when stderr is a terminal and the clip is long enough to wait for.</summary>
    private sealed class ProgressBar
    {
        private const double MinimumSeconds = 10;
        private int _shown = -1;

        public static ProgressBar? ForStandardError() => Console.IsErrorRedirected ? null : new ProgressBar();

        public void Report(double position, double duration)
        {
            if (duration < MinimumSeconds)
            {
                return;
            }
            int percent = (int)Math.Clamp(position / duration * 100, 0, 100);
            if (percent == _shown)
            {
                return;
            }
            _shown = percent;
            int filled = percent * 30 / 100;
            string bar = new string('#', filled) + new string('.', 30 - filled);
            Console.Error.Write(string.Create(CultureInfo.InvariantCulture, $"\r[{bar}] {percent,3}% {position:0}/{duration:0} s"));
        }

        public void Clear()
        {
            if (_shown >= 0)
            {
                Console.Error.Write("\r" + new string(' ', 60) + "\r");
            }
        }
    }
}
