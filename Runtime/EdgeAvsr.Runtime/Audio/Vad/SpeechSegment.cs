namespace EdgeAvsr.Runtime.Audio.Vad;

/// <summary>A stretch of speech, in seconds from the start of the audio.</summary>
public readonly record struct SpeechSegment(double Start, double End)
{
    public double Duration => End - Start;
}
