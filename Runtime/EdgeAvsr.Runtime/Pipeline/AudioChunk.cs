using EdgeAvsr.Runtime.Video;

namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>16 kHz mono samples.</summary>
public sealed record AudioChunk(TimeSpan Timestamp, float[] Samples) : MediaChunk(Timestamp);
