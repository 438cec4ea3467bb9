using EdgeAvsr.Runtime.Video;

namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>A piece of a clock-stamped media stream; <see cref="Timestamp"/> is the stream time of its first sample or frame.</summary>
public abstract record MediaChunk(TimeSpan Timestamp);
