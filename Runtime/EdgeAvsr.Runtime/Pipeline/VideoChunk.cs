using EdgeAvsr.Runtime.Video;

namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>96x96 grayscale mouth crops at 25 fps (the video front-end's input).</summary>
public sealed record VideoChunk(TimeSpan Timestamp, GrayFrames Crops) : MediaChunk(Timestamp);
