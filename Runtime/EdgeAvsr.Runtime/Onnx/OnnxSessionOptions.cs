using System.Globalization;

namespace EdgeAvsr.Runtime.Onnx;

/// <summary>How to create an <see cref="OnnxSession"/>.</summary>
public sealed record OnnxSessionOptions
{
    /// <summary>
    /// Providers in the order to try them. A provider that cannot be appended is logged with ORT's reason and
    /// the next one is tried; if none is left the session is not created. The CPU provider is only used when listed.
    /// </summary>
    public IReadOnlyList<ExecutionProvider> Providers { get; init; } = [ExecutionProvider.Cpu];

    /// <summary>Threads inside one operator; 0 = ORT's default (one per physical core).</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>Threads across independent operators; 0 = ORT's default.</summary>
    public int InterOpThreads { get; init; }

    public TensorRtOptions TensorRt { get; init; } = new();

    public CudaOptions Cuda { get; init; } = new();

    /// <summary>
    /// Session configuration entries passed to <c>SessionOptions.AddSessionConfigEntry</c> (e.g. <c>session.intra_op.allow_spinning</c> = "0").
    /// </summary>
    public IReadOnlyDictionary<string, string> ConfigEntries { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// Where ONNX Runtime saves the graph after its optimisations (<c>SessionOptions.OptimizedModelFilePath</c>): shows which
    /// kernels the session runs (e.g. int8 MatMulIntegerToFloat for a QDQ MatMul). Null: not saved.
    /// </summary>
    public string? OptimizedModelPath { get; init; }

    /// <summary>What the provider list is called in <see cref="Log"/> lines (a command line passes its flag).</summary>
    public string ProvidersName { get; init; } = "providers";

    /// <summary>Receives one line per provider decision (failures with ORT's reason, the provider used).</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Parses <c>tensorrt,cuda,cpu</c> (any order, no repeats); errors name <paramref name="optionName"/>.</summary>
    public static IReadOnlyList<ExecutionProvider> ParseProviders(string text, string optionName = "providers")
    {
        ArgumentNullException.ThrowIfNull(text);
        var list = new List<ExecutionProvider>();
        foreach (string part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            ExecutionProvider p = part.ToLowerInvariant() switch
            {
                "cpu" => ExecutionProvider.Cpu,
                "cuda" => ExecutionProvider.Cuda,
                "tensorrt" or "trt" => ExecutionProvider.TensorRt,
                _ => throw new EdgeAvsrException(optionName, name => $"{name} '{part}' is not an execution provider (tensorrt, cuda, cpu)"),
            };
            if (list.Contains(p))
            {
                throw new EdgeAvsrException(optionName, name => $"{name} lists '{part}' twice");
            }
            list.Add(p);
        }
        if (list.Count == 0)
        {
            throw new EdgeAvsrException(optionName, name => $"{name} is empty; list providers in order, e.g. tensorrt,cuda,cpu");
        }
        return list;
    }
}
