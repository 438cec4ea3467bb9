namespace EdgeAvsr.Runtime.Video;

/// <summary>96x96 mouth crops of a clip, with the source frame size and how the clip was read.</summary>
public sealed record MouthCrops(GrayFrames Crops, int SourceWidth, int SourceHeight, VideoInputKind Kind, int FramesWithFace);
