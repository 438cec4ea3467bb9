namespace EdgeAvsr.Runtime;

/// <summary>Which modalities a transcription reads (Llama-AVSR's three tasks).</summary>
public enum AvsrTask
{
    /// <summary>Audio only: "Transcribe speech to text."</summary>
    Asr,
    /// <summary>Video only: "Transcribe video to text."</summary>
    Vsr,
    /// <summary>Audio and video: "Transcribe speech and video to text."</summary>
    Avsr,
}
