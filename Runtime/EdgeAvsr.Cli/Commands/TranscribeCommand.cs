using System.CommandLine;
using System.Globalization;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Onnx;
using EdgeAvsr.Runtime.Pipeline;
using EdgeAvsr.Runtime.Video;

namespace EdgeAvsr.Cli.Commands;

/// <summary><c>edgeavsr transcribe</c>: a clip through the streaming pipeline, as text, JSON, SubRip or WebVTT.</summary>
internal static class TranscribeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model pack folder (from edgeavsr-quantize pack)", Required = true };
        var input = new Option<string?>("--input") { Description = "One media file; its audio and video streams are used" };
        var audio = new Option<string?>("--audio") { Description = "Audio file (instead of --input)" };
        var video = new Option<string?>("--video") { Description = "Video file (instead of --input)" };
        var task = new Option<string>("--task") { Description = "auto | asr | vsr | avsr (auto: avsr when both streams exist, else asr or vsr)", DefaultValueFactory = _ => "auto" };
        var format = new Option<string>("--format") { Description = "text | json | srt | vtt", DefaultValueFactory = _ => "text" };
        var beams = new Option<int?>("--beams") { Description = "Beam width (default: the pack's)" };
        var maxTokens = new Option<int?>("--max-new-tokens") { Description = "Most new tokens per segment (default: the pack's)" };
        var ep = new Option<string?>("--ep") { Description = "Execution providers for the encoders instead of the pack's (e.g. cpu)" };
        var threads = new Option<int>("--threads") { Description = "Threads per stage (default: one per core)", DefaultValueFactory = _ => 0 };
        var exact = new Option<bool>("--exact-numerics") { Description = "Decoder without flash attention and with an F32 KV cache (verification runs)" };
        var backend = new Option<string>("--backend") { Description = "Decoder backend: auto | cpu | cuda", DefaultValueFactory = _ => "auto" };
        var firstLogits = new Option<string?>("--first-logits") { Description = "Write the first segment's first-step logits here (.npy float32 [n_vocab])" };
        var output = new Option<string?>("--out") { Description = "Write the transcript here instead of stdout" };
        var landmarks = new Option<string?>("--landmarks") { Description = "Face-landmark ONNX model for full-face video (docs/landmark-model.md)" };
        var inputKind = new Option<string>("--input-kind") { Description = "auto | crops | face: what the video holds", DefaultValueFactory = _ => "auto" };
        var verify = new Option<bool>("--verify") { Description = "Check every pack file's SHA-256 before loading" };
        var overlap = new Option<string>("--overlap") { Description = "auto | on | off: let the encoders and the decoder compute at the same time (auto: only when they do not share the CPU)", DefaultValueFactory = _ => "auto" };
        var verbose = new Option<bool>("--verbose") { Description = "Say on stderr what was loaded and where it runs" };
        var command = new Command("transcribe", "Transcribe a clip (audio, video or both) with a model pack: VAD-cut segments of at most 30 s, with timestamps");
        foreach (var o in new Option[] { model, input, audio, video, task, format, beams, maxTokens, ep, threads, exact, backend, firstLogits, output, landmarks, inputKind, verify, overlap, verbose })
        {
            command.Options.Add(o);
        }
        command.SetAction((parse, cancellation) => CliAction.RunAsync(async () =>
        {
            var fmt = TranscriptWriter.ParseFormat(parse.GetValue(format)!);
            string? providers = parse.GetValue(ep);
            string backendText = parse.GetValue(backend)!;
            bool chatty = parse.GetValue(verbose);
            Action<string> log = line => Console.Error.WriteLine(line);
            var progress = ProgressBar.ForStandardError();
            var request = new TranscribeRequest
            {
                PackPath = parse.GetValue(model)!,
                Media = new MediaClipRequest
                {
                    InputPath = parse.GetValue(input),
                    AudioPath = parse.GetValue(audio),
                    VideoPath = parse.GetValue(video),
                    LandmarkModel = parse.GetValue(landmarks),
                    VideoKind = FrameJob.ParseKind(parse.GetValue(inputKind)!),
                },
                Task = parse.GetValue(task)!,
                Models = new AvsrModelOptions
                {
                    Threads = parse.GetValue(threads),
                    EncoderProviders = providers is null ? null : OnnxSessionOptions.ParseProviders(providers),
                    ExactNumerics = parse.GetValue(exact),
                    VerifyHashes = parse.GetValue(verify),
                    DecoderBackend = LlamaBackendKinds.Parse(backendText),
                    Log = chatty ? log : _ => { },
                },
                Recognition = new RecognitionOptions { Beams = parse.GetValue(beams), MaxNewTokens = parse.GetValue(maxTokens) },
                OverlapEncodersAndDecoder = parse.GetValue(overlap)!.ToUpperInvariant() switch
                {
                    "AUTO" => null,
                    "ON" => true,
                    "OFF" => false,
                    _ => throw new EdgeAvsrException($"--overlap '{parse.GetValue(overlap)}' is not auto, on or off"),
                },
                FirstLogitsPath = parse.GetValue(firstLogits),
                Log = log,
                Progress = progress is null ? null : progress.Report,
            };
            var transcript = await TranscribeJob.RunAsync(request, cancellation).ConfigureAwait(false);
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
                $"{transcript.Segments.Count} segment(s), {transcript.DurationSeconds:0.##} s of media in {transcript.Processing.TotalSeconds:0.##} s (real-time factor {transcript.RealTimeFactor:0.###}), peak memory {transcript.PeakMemoryBytes / (1024.0 * 1024.0):0} MiB"));
            return ExitCodes.Success;
        }));
        return command;
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
            Console.Error.Write(string.Create(CultureInfo.InvariantCulture, $"\r[{new string('#', filled)}{new string('.', 30 - filled)}] {percent,3}% {position:0}/{duration:0} s"));
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
