using System.CommandLine;
using System.Globalization;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Onnx;
using EdgeAvsr.Runtime.Video;

namespace EdgeAvsr.Cli.Commands;

/// <summary><c>edgeavsr frames</c>: a video to the mouth ROI the visual encoder reads, written as .npy float32 [T, 88, 88].</summary>
internal static class FramesCommand
{
    public static Option<VideoInputKind> InputKind(string description) => ChoiceOptions.Of<VideoInputKind>("--input-kind", description, VideoInputKind.Auto);

    public static Command Create()
    {
        var video = new Option<string>("--video")
        {
            Description = "Video file (any container/codec ffmpeg reads); decoded at 25 fps, grayscale",
            Required = true,
        };
        var landmarks = new Option<string?>("--landmarks") { Description = "Face-landmark ONNX model for full-face video (docs/landmark-model.md)" };
        var kind = InputKind("crops (already mouth crops, resized to 96x96), face (full frames, needs --landmarks) "
            + "or auto (crops if frames are at most 128x128 and no --landmarks)");
        var output = new Option<string>("--out") { Description = "Output .npy, float32 [T, 88, 88]", Required = true };
        var ep = CommonOptions.Providers("Execution providers for the landmark model, in the order to try (e.g. cuda,cpu)", "cpu");
        var command = new Command("frames",
            "Mouth ROI of a video for the visual encoder: 25 fps, 88x88 centre crop of 96x96 mouth crops, normalised (x - 0.421) / 0.165");
        foreach (var o in new Option[] { video, landmarks, kind, ep, output })
        {
            command.Options.Add(o);
        }
        CommandActions.Set(command, parse =>
        {
            var session = new OnnxSessionOptions { Providers = CommonOptions.ParseProviders(parse.GetValue(ep)!), ProvidersName = "--ep" };
            var (roi, crops) = MouthCropReader.ReadRoi(parse.GetValue(video)!, parse.GetValue(landmarks), parse.GetValue(kind), session);
            int frames = crops.Crops.Count;
            string outPath = parse.GetValue(output)!;
            NpyFile.Write(outPath, roi, frames, MouthRoi.RoiSize, MouthRoi.RoiSize);
            if (crops.Kind == VideoInputKind.Face)
            {
                Console.WriteLine($"source {crops.SourceWidth}x{crops.SourceHeight} full frames: face found in {crops.FramesWithFace} of {frames} "
                    + "frames (others interpolated), mouth aligned and cropped");
            }
            else
            {
                bool resized = crops.SourceWidth != MouthRoi.CropSize || crops.SourceHeight != MouthRoi.CropSize;
                Console.WriteLine($"source {crops.SourceWidth}x{crops.SourceHeight} read as mouth crops{(resized ? " (resized to 96x96)" : "")}");
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"frames: {frames} at 25 fps ({frames / 25.0:0.##} s)"));
            Console.WriteLine($"wrote {outPath} [{frames}, 88, 88] float32");
            return ExitCodes.Success;
        });
        return command;
    }
}
