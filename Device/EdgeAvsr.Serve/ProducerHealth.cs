namespace EdgeAvsr.Serve;

/// <summary>What a producer says about itself (the live one fills it from the pipeline's status and its devices).</summary>
public sealed record ProducerHealth
{
    /// <summary>The producer's kind, e.g. <c>replay</c> or <c>live</c>.</summary>
    public required string Producer { get; init; }

    /// <summary>One word: <c>starting</c>, <c>listening</c>, <c>paused</c> (the push-to-talk button), <c>waiting</c>, <c>finished</c>,
    /// <c>faulted</c>.</summary>
    public required string State { get; init; }

    /// <summary>True while captions can come (the page's listening indicator).</summary>
    public bool Listening { get; init; }

    /// <summary>The model pack's name, when one is loaded.</summary>
    public string? Model { get; init; }

    /// <summary>The task in use (<c>asr</c>, <c>vsr</c>, <c>avsr</c>), when known.</summary>
    public string? Task { get; init; }

    /// <summary>Why the task in use differs from the preferred one (a stream is missing), or null.</summary>
    public string? TaskReason { get; init; }

    /// <summary>Modalities delivering now: <c>audio</c>, <c>video</c>.</summary>
    public IReadOnlyList<string> LiveModalities { get; init; } = [];

    public IReadOnlyList<DeviceHealth> Devices { get; init; } = [];

    public int Utterances { get; init; }

    public int PartialsDropped { get; init; }

    public IReadOnlyList<StageLatency> Stages { get; init; } = [];

    public IReadOnlyList<QueueDepth> Queues { get; init; } = [];

    /// <summary>Stages restarted after a fault.</summary>
    public int Restarts { get; init; }

    public string? LastFault { get; init; }
}
