namespace EdgeAvsr.Runtime;

/// <summary>The two input streams of audio-visual speech recognition.</summary>
public enum Modality
{
    Audio,
    Video,
}
