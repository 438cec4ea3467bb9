using EdgeAvsr.Runtime.Decoding;

namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>
/// The transcript of one utterance: partial while its speech is still running (later replaced), final once it ended.
/// Sample and frame ranges say exactly which media went in (16 kHz samples, 25 fps frames).
/// </summary>
public sealed record Caption
{
    /// <summary>Utterance number; partials and the final of one utterance share it.</summary>
    public required int Utterance { get; init; }

    public required bool IsFinal { get; init; }

    public required AvsrTask Task { get; init; }

    /// <summary>Start and end in seconds of stream time.</summary>
    public required double Start { get; init; }

    public required double End { get; init; }

    /// <summary>Stream time at which the utterance was cut (for a final: when its end became certain); live latency counts from here.</summary>
    public required double DecidedAt { get; init; }

    public required string Text { get; init; }

    public required int[] Tokens { get; init; }

    /// <summary>Mean log-probability per generated position (the end-of-generation token included when it ended the text).</summary>
    public required double AverageLogProbability { get; init; }

    public required StopReason Stop { get; init; }

    /// <summary>First sample and count of the audio that went in (16 kHz); count 0 without audio.</summary>
    public required (long First, long Count) AudioSamples { get; init; }

    /// <summary>First frame and count of the video that went in (25 fps); count 0 without video.</summary>
    public required (long First, long Count) VideoFrames { get; init; }

    /// <summary>Tokens routed to each expert (top-k slots counted), per modality; null when the modality was not used.</summary>
    public int[]? AudioExperts { get; init; }

    public int[]? VideoExperts { get; init; }

    public required StageTimings Timings { get; init; }

    /// <summary>The first generation step's logits, when asked for.</summary>
    public float[]? FirstLogits { get; init; }
}
