using EdgeAvsr.Runtime.Onnx;

namespace EdgeAvsr.Runtime.Pack;

/// <summary>How <see cref="PackLoader.OpenEncoder"/> opens an encoder session.</summary>
public sealed record PackEncoderOptions
{
    /// <summary>Execution providers instead of the manifest's preference.</summary>
    public IReadOnlyList<ExecutionProvider>? Providers { get; init; }

    /// <summary>ONNX Runtime intra-op threads; 0 = one per core.</summary>
    public int Threads { get; init; }

    /// <summary>Receives the execution-provider decisions of the session.</summary>
    public Action<string>? Log { get; init; }
}
