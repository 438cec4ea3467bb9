namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>How <see cref="TranscriptWriter"/> writes a transcript.</summary>
public enum TranscriptFormat
{
    Text,
    Json,
    Srt,
    Vtt,
}
