using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Onnx;

namespace EdgeAvsr.Runtime.Video;

/// <summary>What a clip holds: mouth crops already (as LRS3's preprocessed releases) or full frames with a face.</summary>
public enum VideoInputKind
{
    /// <summary>Crops when a landmark model is not given and the frame is at most 128x128; otherwise face.</summary>
    Auto,
    Crops,
    Face,
}

/// <summary>What <c>edgeavsr frames</c> asks for.</summary>
public sealed record FrameRequest
{
    public required string VideoPath { get; init; }

    public required string OutputPath { get; init; }

    /// <summary>Face-landmark ONNX model for full-frame video (docs/landmark-model.md).</summary>
    public string? LandmarkModel { get; init; }

    public VideoInputKind InputKind { get; init; } = VideoInputKind.Auto;

    /// <summary>ONNX Runtime options for the landmark model (providers, threads).</summary>
    public OnnxSessionOptions Session { get; init; } = new();
}

/// <summary>96x96 mouth crops of a clip, with the source frame size and how the clip was read.</summary>
public sealed record MouthCrops(GrayFrames Crops, int SourceWidth, int SourceHeight, VideoInputKind Kind, int FramesWithFace);

/// <summary>The ROI written: frames, the source size and how it was read.</summary>
public sealed record FrameResult(int Frames, int SourceWidth, int SourceHeight, VideoInputKind Kind, string OutputPath, int FramesWithFace);

/// <summary>
/// Video to AV-HuBERT's input: 25 fps grayscale frames (ffmpeg), mouth crops of 96x96 (resized if the clip's crops
/// are another size, or cut from full frames by <see cref="MouthAlignment"/> on a landmark model's points), centre-cropped to 88x88 and normalised (<see cref="MouthRoi"/>); written as float32 [T, 88, 88].
/// </summary>
public static class FrameJob
{
    /// <summary>Frames up to this size (both sides) count as mouth crops when the kind is <see cref="VideoInputKind.Auto"/>.</summary>
    public const int AutoCropLimit = 128;

    public static VideoInputKind ParseKind(string text) => text switch
    {
        "auto" => VideoInputKind.Auto,
        "crops" => VideoInputKind.Crops,
        "face" => VideoInputKind.Face,
        _ => throw new EdgeAvsrException($"--input-kind '{text}' is not auto, crops or face"),
    };

    /// <summary>The kind a clip of this size is read as.</summary>
    public static VideoInputKind Resolve(VideoInputKind requested, int width, int height, bool haveLandmarkModel) => requested switch
    {
        VideoInputKind.Auto when haveLandmarkModel => VideoInputKind.Face,
        VideoInputKind.Auto => width <= AutoCropLimit && height <= AutoCropLimit ? VideoInputKind.Crops : VideoInputKind.Face,
        _ => requested,
    };

    public static FrameResult Run(FrameRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var crops = LoadCrops(request.VideoPath, request.LandmarkModel, request.InputKind, request.Session);
        float[] roi = MouthRoi.FromCrops(crops.Crops);
        NpyFile.Write(request.OutputPath, roi, crops.Crops.Count, MouthRoi.RoiSize, MouthRoi.RoiSize);
        return new FrameResult(crops.Crops.Count, crops.SourceWidth, crops.SourceHeight, crops.Kind, request.OutputPath, crops.FramesWithFace);
    }

    /// <summary>The clip's 96x96 mouth crops at 25 fps: resized when it holds crops already, cut by the landmark model when it holds faces.</summary>
    public static MouthCrops LoadCrops(string videoPath, string? landmarkModel, VideoInputKind inputKind = VideoInputKind.Auto, OnnxSessionOptions? session = null)
    {
        ArgumentNullException.ThrowIfNull(videoPath);
        var (width, height) = VideoDecoder.Probe(videoPath);
        var kind = Resolve(inputKind, width, height, landmarkModel is not null);
        if (kind == VideoInputKind.Crops && landmarkModel is not null)
        {
            throw new EdgeAvsrException($"--landmarks applies to full-face video; {videoPath} was declared as mouth crops (--input-kind crops)");
        }
        if (kind == VideoInputKind.Face)
        {
            if (landmarkModel is null)
            {
                throw new EdgeAvsrException($"{videoPath}: {width}x{height} frames look like full-face video, which needs a face-landmark model (--landmarks MODEL.onnx, see docs/landmark-model.md); if the clip is already mouth crops, pass --input-kind crops");
            }
            if (!File.Exists(landmarkModel))
            {
                throw new EdgeAvsrException($"{landmarkModel}: landmark model not found");
            }
            // Full frames (no resize), landmarks per frame, aligned 96x96 mouth crops (docs/landmark-model.md).
            using var model = LandmarkModel.Open(landmarkModel, session ?? new OnnxSessionOptions());
            var frames = VideoDecoder.Decode(videoPath);
            var landmarks = model.Detect(frames);
            int found = landmarks.Count(l => l is not null);
            if (found == 0)
            {
                throw new EdgeAvsrException($"{videoPath}: the landmark model {landmarkModel} found no face in any of the {frames.Count} frames");
            }
            return new MouthCrops(MouthAlignment.CropMouths(frames, landmarks), width, height, kind, found);
        }
        return new MouthCrops(VideoDecoder.Decode(videoPath, (MouthRoi.CropSize, MouthRoi.CropSize)), width, height, kind, 0);
    }
}
