using EdgeAvsr.Runtime.Audio.Vad;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Encoders;
using EdgeAvsr.Runtime.Interop;
using EdgeAvsr.Runtime.Onnx;
using EdgeAvsr.Runtime.Pack;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>How to load a pack for inference.</summary>
public sealed record AvsrModelOptions
{
    /// <summary>Threads for the encoders (ONNX Runtime intra-op), the projector and the decoder; 0 = one per core.</summary>
    public int Threads { get; init; }

    /// <summary>Execution providers for the encoders instead of the manifest's preference.</summary>
    public IReadOnlyList<ExecutionProvider>? EncoderProviders { get; init; }

    /// <summary>Decoder in exact-numerics mode (flash attention off, F32 KV cache): verification runs.</summary>
    public bool ExactNumerics { get; init; }

    public LlamaBackendKind DecoderBackend { get; init; } = LlamaBackendKind.Auto;

    /// <summary>How the decoder picks its thread count per token (<see cref="DecoderOptions.ThreadPolicy"/>).</summary>
    public DecoderThreadPolicy DecoderThreadPolicy { get; init; }

    /// <summary>Where the projector runs instead of the pack's <c>projector.device</c>; null keeps the pack's.</summary>
    public ProjectorDevice? ProjectorDevice { get; init; }

    /// <summary>Recompute every file's SHA-256 before loading.</summary>
    public bool VerifyHashes { get; init; }

    /// <summary>Silero VAD model (default: <see cref="SileroVad.DefaultModelPath"/>); only loaded for packs with an audio encoder.</summary>
    public string? VadModelPath { get; init; }

    /// <summary>
    /// Load the VAD for a pack with an audio encoder (default); false when no audio will come (a clip without sound), so
    /// its model file is not needed.
    /// </summary>
    public bool LoadVad { get; init; } = true;

    /// <summary>Receives what was loaded and where it runs (providers, backend, kernel).</summary>
    public Action<string>? Log { get; init; }
}
