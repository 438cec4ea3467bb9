namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>
/// A snapshot of what a running <see cref="AvsrPipeline"/> is doing: per stage compute, queue depths, what it cut,
/// skipped and captioned, gaps it filled, and the live latency of its finals. Data only; taken under a lock, so it is
/// consistent with itself, and cheap enough to ask for on every request of a health endpoint.
/// </summary>
public sealed record PipelineHealth
{
    /// <summary>The task of the pipeline that ran last (a live captioner's pipelines share one record across switches).</summary>
    public required AvsrTask Task { get; init; }

    /// <summary>Capture and segmentation: buffers, VAD and cutting, per media chunk received.</summary>
    public required StageHealth Segment { get; init; }

    /// <summary>Waveform normalisation, log-mel and mouth ROI, per utterance.</summary>
    public required StageHealth FrontEnd { get; init; }

    /// <summary>Encoders and SMoP projector, per utterance.</summary>
    public required StageHealth EncodeProject { get; init; }

    /// <summary>Prompt and generation, per caption.</summary>
    public required StageHealth Decode { get; init; }

    public required QueueDepths Queues { get; init; }

    /// <summary>Partial and final utterances handed to the front-ends.</summary>
    public required long PartialsCut { get; init; }

    public required long FinalsCut { get; init; }

    /// <summary>Partials not computed (<see cref="AvsrPipelineOptions.SkipPartialsWhenBusy"/>).</summary>
    public required long PartialsDropped { get; init; }

    /// <summary>
    /// Finals given up at the end of a live run because the video needed for them never came (fewer frames than the
    /// projector pools); a file run fails instead.
    /// </summary>
    public required long FinalsDropped { get; init; }

    /// <summary>Captions the decoder produced.</summary>
    public required long PartialCaptions { get; init; }

    public required long FinalCaptions { get; init; }

    /// <summary>
    /// Gaps in the stamps filled so stream time stays aligned: silent samples for audio dropouts, repeated (or, at the
    /// start, black) frames for missing video frames. The pipeline drops no media chunk: a chunk it cannot place is an error.
    /// </summary>
    public required long AudioSamplesFilled { get; init; }

    public required long VideoFramesFilled { get; init; }

    public required CaptionLatency FinalLatency { get; init; }
}
