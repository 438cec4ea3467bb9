using EdgeAvsr.Runtime.Onnx;

namespace EdgeAvsr.Runtime.Pack;

/// <summary>How to inspect a pack.</summary>
public sealed record PackInspectionOptions
{
    /// <summary>Recompute every file's SHA-256 and compare it with the manifest (reads every byte).</summary>
    public bool VerifyHashes { get; init; }

    /// <summary>Execution providers for the encoders instead of the manifest's preference.</summary>
    public IReadOnlyList<ExecutionProvider>? EncoderProviders { get; init; }

    /// <summary>Load llama.cpp and report the devices the decoder would run on (auto: CUDA when a GPU device is registered, else CPU).</summary>
    public bool ResolveDecoderBackend { get; init; }

    /// <summary>Receives the execution-provider decisions of the encoder sessions.</summary>
    public Action<string>? Log { get; init; }
}
