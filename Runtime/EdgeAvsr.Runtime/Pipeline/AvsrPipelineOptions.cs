using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using EdgeAvsr.Runtime.Audio.Vad;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Video;

namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>How the live pipeline cuts and schedules utterances.</summary>
public sealed record AvsrPipelineOptions
{
    /// <summary>Stream time between partial captions of running speech; null: finals only (file transcription).</summary>
    public TimeSpan? PartialInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest utterance: the Whisper encoder sees 30 s; an audio encoder with a shorter window caps it there.</summary>
    public TimeSpan MaxUtterance { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Shorter utterances are dropped (slivers left by a forced cut).</summary>
    public TimeSpan MinUtterance { get; init; } = TimeSpan.FromSeconds(0.2);

    /// <summary>
    /// Voice activity settings for utterances: a pause of 400 ms ends one (Silero's 100 ms default would split sentences
    /// at word gaps), 200 ms of padding keeps the first and last phonemes.
    /// </summary>
    public VadOptions Vad { get; init; } = new() { MinSilenceMs = 400, SpeechPadMs = 200 };

    /// <summary>Utterances waiting between two stages; a slow stage makes the one before it wait (bounded memory).</summary>
    public int QueueCapacity { get; init; } = 2;

    /// <summary>
    /// Live sources that cannot wait (a microphone): a partial is dropped when the front-end stage is still busy, instead of
    /// holding up capture, and any stage skips a partial when a newer caption of the same utterance waits behind it, so
    /// the final is not held up by stale partials. Finals always wait. Off for files and tests, where every partial is computed.
    /// </summary>
    public bool SkipPartialsWhenBusy { get; init; }

    public RecognitionOptions Recognition { get; init; } = new();

    /// <summary>
    /// Whether the encoder and decoder stages may compute at the same time. Null (default): only when they do not share
    /// the CPU (an encoder on TensorRT/CUDA, or the decoder on CUDA); on the CPU both spread over every core, and
    /// llama.cpp's spinning worker threads slow down badly when the encoders hold their cores, so they take turns.
    /// </summary>
    public bool? OverlapEncodersAndDecoder { get; init; }

    /// <summary>
    /// Live: how far (stream time) the audio may run ahead of the last video frame before utterances are handed out with the
    /// frames that arrived, so a camera that stopped without a word from its source does not hold every caption back; a
    /// final without enough frames is then dropped and counted (<see cref="PipelineHealth.FinalsDropped"/>). Null: wait
    /// for the video however long (files, where it always comes).
    /// </summary>
    public TimeSpan? VideoWait { get; init; }

    /// <summary>Finals whose live latency <see cref="PipelineHealth.FinalLatency"/> summarises (the most recent ones).</summary>
    public int LatencyWindow { get; init; } = 100;

    /// <summary>Called before each stage handles an utterance, on that stage's thread: tests make a stage throw here.</summary>
    internal Action<PipelineStage, UtteranceSpan>? StageProbe { get; init; }
}
