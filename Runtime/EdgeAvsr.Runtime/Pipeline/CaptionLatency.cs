namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>
/// Live latency of final captions: wall time from the arrival of the chunk that decided an utterance's end (its
/// <see cref="Caption.DecidedAt"/>) to its final caption leaving the decoder, in milliseconds. <see cref="Count"/> finals
/// are in the window (the most recent ones, up to <see cref="AvsrPipelineOptions.LatencyWindow"/>); the mean and the
/// 95th percentile (nearest rank) are over the window. All zero before the first final.
/// </summary>
public sealed record CaptionLatency(int Count, double LastMs, double MeanMs, double P95Ms);
