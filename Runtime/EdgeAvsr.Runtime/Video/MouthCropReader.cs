using EdgeAvsr.Runtime.Onnx;

namespace EdgeAvsr.Runtime.Video;

/// <summary>
/// A video file to AV-HuBERT's input: 25 fps grayscale frames (ffmpeg), mouth crops of 96x96 (resized if the clip's
/// crops are another size, or cut from full frames by <see cref="MouthAlignment"/> on a landmark model's points),
/// centre-cropped to 88x88 and normalised (<see cref="MouthRoi"/>).
/// </summary>
public static class MouthCropReader
{
    /// <summary>Frames up to this size (both sides) count as mouth crops when the kind is <see cref="VideoInputKind.Auto"/>.</summary>
    public const int AutoCropLimit = 128;

    /// <summary>The kind a clip of this size is read as.</summary>
    public static VideoInputKind Resolve(VideoInputKind requested, int width, int height, bool haveLandmarkModel) => requested switch
    {
        VideoInputKind.Auto when haveLandmarkModel => VideoInputKind.Face,
        VideoInputKind.Auto => width <= AutoCropLimit && height <= AutoCropLimit ? VideoInputKind.Crops : VideoInputKind.Face,
        _ => requested,
    };

    /// <summary>The clip's mouth ROI, float32 [T, 88, 88] (row-major), with how it was read.</summary>
    public static (float[] Roi, MouthCrops Crops) ReadRoi(string videoPath, string? landmarkModel = null,
        VideoInputKind inputKind = VideoInputKind.Auto, OnnxSessionOptions? session = null)
    {
        var crops = LoadCrops(videoPath, landmarkModel, inputKind, session);
        return (MouthRoi.FromCrops(crops.Crops), crops);
    }

    /// <summary>
    /// The clip's 96x96 mouth crops at 25 fps: resized when it holds crops already, cut by the landmark model when it
    /// holds faces. Errors about the choice name the parameters <c>landmarkModel</c> and <c>inputKind</c>.
    /// </summary>
    public static MouthCrops LoadCrops(string videoPath, string? landmarkModel, VideoInputKind inputKind = VideoInputKind.Auto,
        OnnxSessionOptions? session = null)
    {
        ArgumentNullException.ThrowIfNull(videoPath);
        var (width, height) = VideoDecoder.Probe(videoPath);
        var kind = Resolve(inputKind, width, height, landmarkModel is not null);
        if (kind == VideoInputKind.Crops && landmarkModel is not null)
        {
            throw EdgeAvsrException.ForParameters(
                name => $"{name("landmarkModel")} applies to full-face video; {videoPath} was declared as mouth crops ({name("inputKind")} crops)",
                "landmarkModel", "inputKind");
        }
        if (kind == VideoInputKind.Face)
        {
            if (landmarkModel is null)
            {
                throw EdgeAvsrException.ForParameters(
                    name => $"{videoPath}: {width}x{height} frames look like full-face video, which needs a face-landmark model "
                        + $"({name("landmarkModel")} MODEL.onnx, see docs/landmark-model.md); if the clip is already mouth crops, "
                        + $"pass {name("inputKind")} crops",
                    "landmarkModel", "inputKind");
            }
            if (!File.Exists(landmarkModel))
            {
                throw new EdgeAvsrException($"{landmarkModel}: landmark model not found");
            }
            // Full frames (no resize), landmarks per frame, aligned 96x96 mouth crops (docs/landmark-model.md).
            using var model = LandmarkModel.Open(landmarkModel, session ?? new OnnxSessionOptions());
            var frames = VideoDecoder.Decode(videoPath, (width, height));
            var landmarks = model.Detect(frames);
            int found = landmarks.Count(l => l is not null);
            if (found == 0)
            {
                throw new EdgeAvsrException($"{videoPath}: the landmark model {landmarkModel} found no face in any of the {frames.Count} frames");
            }
            return new MouthCrops(MouthAlignment.CropMouths(frames, landmarks), width, height, kind, found);
        }
        return new MouthCrops(VideoDecoder.Decode(videoPath, (width, height), (MouthRoi.CropSize, MouthRoi.CropSize)), width, height, kind, 0);
    }
}
