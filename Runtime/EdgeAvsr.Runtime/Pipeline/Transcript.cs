namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>A transcribed clip: final captions, what ran, and what it cost.</summary>
public sealed record Transcript
{
    public required string Model { get; init; }

    public required AvsrTask Task { get; init; }

    public required string TaskReason { get; init; }

    public required string Media { get; init; }

    public required double DurationSeconds { get; init; }

    public required IReadOnlyList<Caption> Segments { get; init; }

    /// <summary>Time the source spent decoding the media (ffmpeg, resampling, crops), overlapped with the other stages.</summary>
    public required TimeSpan MediaDecode { get; init; }

    /// <summary>Wall time loading the pack (not part of the real-time factor).</summary>
    public required TimeSpan Load { get; init; }

    /// <summary>Per-stage time summed over the segments (stages overlap in the pipeline, so the sum can exceed the wall time).</summary>
    public required StageTimings Stages { get; init; }

    /// <summary>Wall time of the pipeline, media decoding included.</summary>
    public required TimeSpan Processing { get; init; }

    /// <summary>Processing time over media duration (below 1: faster than real time).</summary>
    public double RealTimeFactor => DurationSeconds > 0 ? Processing.TotalSeconds / DurationSeconds : 0;

    /// <summary>The process's peak resident memory (VmHWM) at the end.</summary>
    public required long PeakMemoryBytes { get; init; }
}
