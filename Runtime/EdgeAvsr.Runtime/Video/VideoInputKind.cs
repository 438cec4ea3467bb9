namespace EdgeAvsr.Runtime.Video;

/// <summary>What a clip holds: mouth crops already (as LRS3's preprocessed releases) or full frames with a face.</summary>
public enum VideoInputKind
{
    /// <summary>Crops when a landmark model is not given and the frame is at most 128x128; otherwise face.</summary>
    Auto,
    Crops,
    Face,
}
