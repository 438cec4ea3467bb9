namespace EdgeAvsr.Serve;

/// <summary>
/// A caption as the daemon publishes it (SSE data, history, journal line). Finals carry the journal's sequence
/// number as <see cref="Id"/>; partials have none. <see cref="Run"/> names the daemon process that produced it, so a
/// page never mixes the utterance numbers of two runs.
/// </summary>
public sealed record CaptionRecord
{
    public long? Id { get; init; }

    public required string Run { get; init; }

    public required int Utterance { get; init; }

    public required bool Final { get; init; }

    /// <summary><c>asr</c>, <c>vsr</c> or <c>avsr</c>.</summary>
    public required string Task { get; init; }

    /// <summary>Start and end in seconds of the run's stream time.</summary>
    public required double Start { get; init; }

    public required double End { get; init; }

    public required string Text { get; init; }

    /// <summary>Wall-clock time the caption was published (UTC).</summary>
    public required DateTimeOffset Time { get; init; }
}
