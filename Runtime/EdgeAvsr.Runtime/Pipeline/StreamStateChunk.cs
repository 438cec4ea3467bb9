namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>
/// A live source's word that the set of streams delivering changed at <see cref="MediaChunk.Timestamp"/> (a device
/// stalled, went away or came back). It carries no media; a consumer that fixed its streams up front may ignore it.
/// </summary>
public sealed record StreamStateChunk(TimeSpan Timestamp, MediaStreams Live) : MediaChunk(Timestamp);
