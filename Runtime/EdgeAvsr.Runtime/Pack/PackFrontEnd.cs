using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Onnx;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Runtime.Pack;

/// <summary>Front-end settings: how media becomes encoder input.</summary>
public sealed record PackFrontEnd
{
    // The runtime's fixed front end (docs/model-pack.md), which a manifest must state. Pack sits below Audio, Video and
    // Pipeline, so the values are repeated here; PackFrontEndTests holds them equal to WhisperLogMel, StreamClock and MouthRoi.
    public const int FixedSampleRate = 16000;
    public const int FixedVideoFps = 25;
    public const int FixedCropSize = 96;
    public const float FixedRoiMean = 0.421f;
    public const float FixedRoiStd = 0.165f;

    public required int SampleRate { get; init; }

    /// <summary>Whether the waveform is normalised to zero mean, unit variance before the log-mel (the authors' <c>norm_audio</c>).</summary>
    public required bool WaveformNormalization { get; init; }

    public required int MelBins { get; init; }

    public required int MelFrames { get; init; }

    public required double VideoFps { get; init; }

    /// <summary>Side of the square mouth crop before the centre crop.</summary>
    public required int CropSize { get; init; }

    /// <summary>Side of the centre-cropped region of interest the video encoder takes.</summary>
    public required int RoiSize { get; init; }

    public required double RoiMean { get; init; }

    public required double RoiStd { get; init; }
}
