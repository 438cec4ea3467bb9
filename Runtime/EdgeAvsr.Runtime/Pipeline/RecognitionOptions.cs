using System.Diagnostics;
using EdgeAvsr.Runtime.Audio;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Projector;
using EdgeAvsr.Runtime.Video;

namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>How utterances are decoded.</summary>
public sealed record RecognitionOptions
{
    /// <summary>Beams for final captions (null: the pack's default). Partial captions are always greedy.</summary>
    public int? Beams { get; init; }

    /// <summary>
    /// Most new tokens per utterance. Null: the pack's default (the authors' 32, sized for LRS3 sentences), raised for
    /// longer utterances to <see cref="UtteranceRecognizer.TokensPerSecond"/> per second, so 30 s of speech is not cut short.
    /// </summary>
    public int? MaxNewTokens { get; init; }

    /// <summary>Keep the first generation step's logits of each final caption.</summary>
    public bool KeepFirstLogits { get; init; }

    /// <summary>Threads of the log-mel front-end (0: one per core).</summary>
    public int FrontEndThreads { get; init; }
}
