using Microsoft.ML.OnnxRuntime;

namespace EdgeAvsr.Runtime.Onnx;

/// <summary>
/// ONNX Runtime's own log messages, received through the environment's logging function (ORT's default logger
/// writes to the process's stderr on its own). Warnings and worse by default; <c>$EDGEAVSR_ORT_LOG</c> =
/// verbose|info|warning|error|fatal changes the level, read once, when the environment is made.
/// </summary>
public static class OnnxRuntimeLog
{
    public const string LevelVariable = "EDGEAVSR_ORT_LOG";

    private static readonly Lock s_gate = new();

    /// <summary>The least severe message ORT hands over (fixed once the environment exists).</summary>
    public static OrtLoggingLevel MinimumLevel { get; } = ParseLevel(Environment.GetEnvironmentVariable(LevelVariable));

    /// <summary>Where messages go: the process's stderr (not <see cref="Console.Error"/>, which a caller may redirect) unless replaced.</summary>
    public static TextWriter Sink { get; set; } = new StreamWriter(Console.OpenStandardError()) { AutoFlush = true };

    public static OrtLoggingLevel ParseLevel(string? text) => text?.Trim().ToUpperInvariant() switch
    {
        "VERBOSE" => OrtLoggingLevel.ORT_LOGGING_LEVEL_VERBOSE,
        "INFO" => OrtLoggingLevel.ORT_LOGGING_LEVEL_INFO,
        "ERROR" => OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        "FATAL" => OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL,
        _ => OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING,
    };

    /// <summary>ORT's logging function: one line per message, with its level and ORT's source location.</summary>
    internal static void Receive(nint param, OrtLoggingLevel severity, string category, string logId, string codeLocation, string message)
    {
        try
        {
            string level = severity switch
            {
                OrtLoggingLevel.ORT_LOGGING_LEVEL_VERBOSE => "verbose",
                OrtLoggingLevel.ORT_LOGGING_LEVEL_INFO => "info",
                OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING => "warning",
                OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR => "error",
                _ => "fatal",
            };
            lock (s_gate)
            {
                Sink.WriteLine($"onnxruntime {level}: {message?.TrimEnd()} ({codeLocation})");
            }
        }
#pragma warning disable CA1031 // called from inside ORT: an exception must never unwind into native code
        catch (Exception)
        {
        }
#pragma warning restore CA1031
    }
}
