using System.CommandLine;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Cli;

/// <summary>The options several verbs share, declared once; each verb gives its own description where the meaning differs.</summary>
internal static class CommonOptions
{
    /// <summary><c>--threads N</c>, default 0 (one per core, for the library's <see cref="ThreadCount"/>) or <paramref name="defaultValue"/>.</summary>
    public static Option<int> Threads(string description = "Worker threads (default: one per core)", Func<int>? defaultValue = null) =>
        new("--threads") { Description = description, DefaultValueFactory = _ => defaultValue?.Invoke() ?? 0 };

    /// <summary><c>--ep tensorrt,cuda,cpu</c>: execution providers in the order to try.</summary>
    public static Option<string> Providers(string description, string defaultValue) =>
        new("--ep") { Description = description, DefaultValueFactory = _ => defaultValue };

    /// <summary><c>--ep</c> with no default: the model pack's own providers unless given.</summary>
    public static Option<string?> ProvidersOverride(string description) => new("--ep") { Description = description };

    /// <summary>The providers <c>--ep</c> names; errors name <c>--ep</c>.</summary>
    public static IReadOnlyList<Runtime.Onnx.ExecutionProvider> ParseProviders(string text) =>
        Runtime.Onnx.OnnxSessionOptions.ParseProviders(text, "--ep");

    public static Option<LlamaBackendKind> Backend(string description) =>
        ChoiceOptions.Of<LlamaBackendKind>("--backend", description, LlamaBackendKind.Auto);

    public static Option<SmopLayout> Layout(string description = "jejr | dejr | dedr") =>
        ChoiceOptions.Of<SmopLayout>("--layout", description);

    public static Option<SmopLayout?> LayoutIfGiven(string description) => ChoiceOptions.OrNone<SmopLayout>("--layout", description);

    public static Option<ProjectorPrecision?> PrecisionIfGiven(string description) =>
        ChoiceOptions.OrNone<ProjectorPrecision>("--precision", description);

    public static Option<AvsrTask> Task(string description) => ChoiceOptions.Of<AvsrTask>("--task", description);

    /// <summary><c>--thread-policy adaptive|fixed</c> for the decoder, default adaptive.</summary>
    public static Option<DecoderThreadPolicy> ThreadPolicy() => ChoiceOptions.Of<DecoderThreadPolicy>("--thread-policy",
        "adaptive (default: each token's decoder thread count chosen from measured call times, at most --threads) | fixed (always " +
        "--threads; bit-reproducible)", DecoderThreadPolicy.Adaptive);
}
