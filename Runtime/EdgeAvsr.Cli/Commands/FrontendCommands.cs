using System.CommandLine;
using System.Globalization;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Audio;
using EdgeAvsr.Runtime.Onnx;
using EdgeAvsr.Runtime.Video;

namespace EdgeAvsr.Cli.Commands;

/// <summary><c>edgeavsr features</c> (audio to Whisper log-mel) and <c>edgeavsr frames</c> (video to mouth ROI).</summary>
internal static class FrontendCommands
{
    public static Command CreateFeatures()
    {
        var audio = new Option<string>("--audio") { Description = "Audio file: WAV (PCM 8/16/24/32, float 32/64, any channels) or anything ffmpeg decodes", Required = true };
        var output = new Option<string>("--out") { Description = "Output .npy, float32 [80, 3000]; a .json with the duration is written beside it", Required = true };
        var normalize = new Option<bool>("--normalize") { Description = "Normalise the waveform to zero mean and unit variance first (as Llama-AVSR does for some models)" };
        var threads = new Option<int>("--threads") { Description = "Worker threads (default: one per core)", DefaultValueFactory = _ => 0 };
        var command = new Command("features", "Whisper log-mel features of an audio file (resampled to 16 kHz, padded or trimmed to 30 s); prints the duration in seconds");
        foreach (var o in new Option[] { audio, output, normalize, threads })
        {
            command.Options.Add(o);
        }
        command.SetAction(parse => CliAction.Run(() =>
        {
            var result = FeatureJob.Run(new FeatureRequest
            {
                AudioPath = parse.GetValue(audio)!,
                OutputPath = parse.GetValue(output)!,
                Normalize = parse.GetValue(normalize),
                Threads = parse.GetValue(threads),
            });
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"duration_seconds: {result.DurationSeconds:0.######}"));
            if (result.DurationSeconds > 30)
            {
                Console.WriteLine("note: audio longer than 30 s; the features hold its first 30 s");
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"source rate {result.SourceSampleRate} Hz{(result.SourceSampleRate != WhisperLogMel.SampleRate ? " resampled to 16000 Hz" : "")}"));
            Console.WriteLine($"wrote {result.MelPath} [80, 3000] float32");
            Console.WriteLine($"wrote {result.SidecarPath}");
            return ExitCodes.Success;
        }));
        return command;
    }

    public static Command CreateFrames()
    {
        var video = new Option<string>("--video") { Description = "Video file (any container/codec ffmpeg reads); decoded at 25 fps, grayscale", Required = true };
        var landmarks = new Option<string?>("--landmarks") { Description = "Face-landmark ONNX model for full-face video (docs/landmark-model.md)" };
        var kind = new Option<string>("--input-kind") { Description = "crops (already mouth crops, resized to 96x96), face (full frames, needs --landmarks) or auto (crops if frames are at most 128x128 and no --landmarks)", DefaultValueFactory = _ => "auto" };
        var output = new Option<string>("--out") { Description = "Output .npy, float32 [T, 88, 88]", Required = true };
        var ep = new Option<string>("--ep") { Description = "Execution providers for the landmark model, in the order to try (e.g. cuda,cpu)", DefaultValueFactory = _ => "cpu" };
        var command = new Command("frames", "Mouth ROI of a video for the visual encoder: 25 fps, 88x88 centre crop of 96x96 mouth crops, normalised (x - 0.421) / 0.165");
        foreach (var o in new Option[] { video, landmarks, kind, ep, output })
        {
            command.Options.Add(o);
        }
        command.SetAction(parse => CliAction.Run(() =>
        {
            var result = FrameJob.Run(new FrameRequest
            {
                VideoPath = parse.GetValue(video)!,
                OutputPath = parse.GetValue(output)!,
                LandmarkModel = parse.GetValue(landmarks),
                InputKind = FrameJob.ParseKind(parse.GetValue(kind)!),
                Session = new OnnxSessionOptions { Providers = OnnxSessionOptions.ParseProviders(parse.GetValue(ep)!) },
            });
            if (result.Kind == VideoInputKind.Face)
            {
                Console.WriteLine($"source {result.SourceWidth}x{result.SourceHeight} full frames: face found in {result.FramesWithFace} of {result.Frames} frames (others interpolated), mouth aligned and cropped");
            }
            else
            {
                Console.WriteLine($"source {result.SourceWidth}x{result.SourceHeight} read as mouth crops{(result.SourceWidth != MouthRoi.CropSize || result.SourceHeight != MouthRoi.CropSize ? " (resized to 96x96)" : "")}");
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"frames: {result.Frames} at 25 fps ({result.Frames / 25.0:0.##} s)"));
            Console.WriteLine($"wrote {result.OutputPath} [{result.Frames}, 88, 88] float32");
            return ExitCodes.Success;
        }));
        return command;
    }
}
