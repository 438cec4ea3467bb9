namespace EdgeAvsr.Serve;

/// <summary>A pipeline stage's latency in milliseconds: the last utterance's and the mean.</summary>
public sealed record StageLatency(string Stage, double LastMs, double MeanMs);
