using EdgeAvsr.Runtime.Onnx;
using EdgeAvsr.Runtime.Video;

namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>Where a clip comes from: one file with both streams, or separate audio and video files.</summary>
public sealed record MediaClipRequest
{
    /// <summary>One file (MP4, MKV, WAV, ...): the streams it has are used.</summary>
    public string? InputPath { get; init; }

    public string? AudioPath { get; init; }

    public string? VideoPath { get; init; }

    /// <summary>Face-landmark model for full-face video (docs/landmark-model.md).</summary>
    public string? LandmarkModel { get; init; }

    public VideoInputKind VideoKind { get; init; } = VideoInputKind.Auto;

    public OnnxSessionOptions LandmarkSession { get; init; } = new();
}
