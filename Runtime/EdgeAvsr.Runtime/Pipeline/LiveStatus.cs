namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>A snapshot of a <see cref="LiveCaptioner"/>: which task runs and why, what it delivered, dropped and survived.</summary>
public sealed record LiveStatus
{
    public required AvsrTask Preferred { get; init; }

    /// <summary>The task in use; null while none can run (no stream live, or the pack lacks the task the live streams allow).</summary>
    public required AvsrTask? Task { get; init; }

    /// <summary>The streams the source declared, and those delivering now (its last <see cref="StreamStateChunk"/>).</summary>
    public required MediaStreams Declared { get; init; }

    public required MediaStreams Live { get; init; }

    /// <summary>Why <see cref="Task"/> is not <see cref="Preferred"/> (or why nothing runs); null when the preferred task runs.</summary>
    public required string? Reason { get; init; }

    /// <summary>Final and partial captions delivered, over all pipelines.</summary>
    public required int Utterances { get; init; }

    public required int Partials { get; init; }

    public required long PartialsDropped { get; init; }

    /// <summary>Media chunks no pipeline received: while no task could run, while backing off after faults, or from a stream said to be stopped.</summary>
    public required long ChunksDropped { get; init; }

    public required int Switches { get; init; }

    public required LiveSwitch? LastSwitch { get; init; }

    /// <summary>Pipelines rebuilt after a stage threw, and the last fault (exception type and message).</summary>
    public required int Restarts { get; init; }

    public required string? LastFault { get; init; }

    /// <summary>Time left before the next rebuild after repeated faults; null when not backing off.</summary>
    public required TimeSpan? BackingOff { get; init; }

    /// <summary>The captioner gave up after <see cref="LiveCaptionerOptions.MaxModelFaults"/> model faults in a row.</summary>
    public required bool Stopped { get; init; }

    /// <summary>Stage latencies, queue depths, drops and live latency, over every pipeline this captioner ran.</summary>
    public required PipelineHealth Pipeline { get; init; }
}
