using EdgeAvsr.Runtime.Formats;

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
}

/// <summary>The ROI written: frames, the source size and how it was read.</summary>
public sealed record FrameResult(int Frames, int SourceWidth, int SourceHeight, VideoInputKind Kind, string OutputPath);

/// <summary>
/// Video to AV-HuBERT's input: 25 fps grayscale frames (ffmpeg), mouth crops of 96x96 (resized if the clip's crops
/// are another size), centre-cropped to 88x88 and normalised (<see cref="MouthRoi"/>); written as float32 [T, 88, 88].
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
        var (width, height) = VideoDecoder.Probe(request.VideoPath);
        var kind = Resolve(request.InputKind, width, height, request.LandmarkModel is not null);
        if (kind == VideoInputKind.Crops && request.LandmarkModel is not null)
        {
            throw new EdgeAvsrException($"--landmarks applies to full-face video; {request.VideoPath} was declared as mouth crops (--input-kind crops)");
        }
        if (kind == VideoInputKind.Face)
        {
            if (request.LandmarkModel is null)
            {
                throw new EdgeAvsrException($"{request.VideoPath}: {width}x{height} frames look like full-face video, which needs a face-landmark model (--landmarks MODEL.onnx, see docs/landmark-model.md); if the clip is already mouth crops, pass --input-kind crops");
            }
            if (!File.Exists(request.LandmarkModel))
            {
                throw new EdgeAvsrException($"{request.LandmarkModel}: landmark model not found");
            }
            throw new EdgeAvsrException($"{request.LandmarkModel}: running a landmark model needs the ONNX Runtime session API, which lands with the encoder work (branch ort-encoders); the crop alignment it feeds (MouthAlignment) is in place. Until then pass mouth crops (--input-kind crops)");
        }
        var crops = VideoDecoder.Decode(request.VideoPath, (MouthRoi.CropSize, MouthRoi.CropSize));
        float[] roi = MouthRoi.FromCrops(crops);
        NpyFile.Write(request.OutputPath, roi, crops.Count, MouthRoi.RoiSize, MouthRoi.RoiSize);
        return new FrameResult(crops.Count, width, height, kind, request.OutputPath);
    }
}
