using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Onnx;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Runtime.Pack;

/// <summary>Front-end settings: how media becomes encoder input.</summary>
public sealed record PackFrontEnd
{
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
