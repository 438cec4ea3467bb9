using EdgeAvsr.Runtime.Pipeline;

namespace EdgeAvsr.Serve;

/// <summary>
/// Where the daemon's captions come from: the live pipeline over devices, or a replayed captions file. The daemon
/// journals each final and publishes every caption in the order the producer yields them.
/// </summary>
public interface ICaptionProducer
{
    /// <summary>
    /// Captions until the input ends or <paramref name="drain"/> is cancelled. A drain is not an abort: the producer
    /// stops taking input, yields the final caption of the utterance in flight (if any), then ends the sequence
    /// without throwing.
    /// </summary>
    IAsyncEnumerable<Caption> RunAsync(CancellationToken drain);

    /// <summary>A snapshot for /health and the page; plain data, safe to read from any thread at any time.</summary>
    ProducerHealth Health { get; }
}

/// <summary>What a producer says about itself (the live one fills it from the pipeline's status and its devices).</summary>
public sealed record ProducerHealth
{
    /// <summary>The producer's kind, e.g. <c>replay</c> or <c>live</c>.</summary>
    public required string Producer { get; init; }

    /// <summary>One word: <c>starting</c>, <c>listening</c>, <c>waiting</c>, <c>finished</c>, <c>faulted</c>.</summary>
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

/// <summary>One input device (camera, microphone, a replayed file) and whether it delivers.</summary>
public sealed record DeviceHealth(string Name, string Kind, bool Live, string? Detail);

/// <summary>A pipeline stage's latency in milliseconds: the last utterance's and the mean.</summary>
public sealed record StageLatency(string Stage, double LastMs, double MeanMs);

/// <summary>How many items wait in front of a stage.</summary>
public sealed record QueueDepth(string Queue, int Depth);
