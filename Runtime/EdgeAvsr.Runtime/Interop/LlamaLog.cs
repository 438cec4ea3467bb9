using LLama.Native;

namespace EdgeAvsr.Runtime.Interop;

/// <summary>
/// llama.cpp's log output, which LLamaSharp hands to <see cref="Callback"/> (set through
/// <see cref="NativeLibraryConfig"/> before the library loads), written to stderr with a level filter. Quiet by
/// default: <see cref="MinimumLevel"/> starts at <see cref="LlamaLogLevel.None"/> unless <c>$EDGEAVSR_LLAMA_LOG</c> is
/// debug|info|warn|error. Warnings and errors are kept (last few lines) whatever the filter, so exceptions can quote
/// llama.cpp's own reason.
/// </summary>
public static class LlamaLog
{
    public const string LevelVariable = "EDGEAVSR_LLAMA_LOG";
    private const int KeptLines = 8;
    private const int Continuation = 5;
    private static readonly Lock s_gate = new();
    private static readonly Queue<string> s_recent = new();
    private static int s_lastLevel = (int)LlamaLogLevel.Info;
    private static string s_pending = "";

    /// <summary>The delegate given to LLamaSharp (a static field keeps it alive while native code holds it).</summary>
    internal static readonly NativeLogConfig.LLamaLogCallback Callback = (level, message) => Receive((int)level, message ?? "");

    public static LlamaLogLevel MinimumLevel { get; set; } = ParseLevel(Environment.GetEnvironmentVariable(LevelVariable));

    /// <summary>Where messages that pass the filter go (stderr unless replaced).</summary>
    public static TextWriter Sink { get; set; } = Console.Error;

    public static LlamaLogLevel ParseLevel(string? text) => text?.Trim().ToUpperInvariant() switch
    {
        "DEBUG" => LlamaLogLevel.Debug,
        "INFO" => LlamaLogLevel.Info,
        "WARN" or "WARNING" => LlamaLogLevel.Warn,
        "ERROR" => LlamaLogLevel.Error,
        _ => LlamaLogLevel.None,
    };

    /// <summary>The last warning/error lines llama.cpp logged (oldest first), joined with "; ".</summary>
    public static string RecentProblems()
    {
        lock (s_gate)
        {
            return string.Join("; ", s_recent);
        }
    }

    internal static void ClearRecent()
    {
        lock (s_gate)
        {
            s_recent.Clear();
        }
    }

    /// <summary>One message: CONT (5) fragments continue the previous level; whole lines are filtered and kept.</summary>
    internal static void Receive(int level, string message)
    {
        lock (s_gate)
        {
            if (level == Continuation)
            {
                level = s_lastLevel;
            }
            else
            {
                s_lastLevel = level;
            }
            if (level >= (int)LlamaLogLevel.Warn)
            {
                s_pending += message;
                int nl;
                while ((nl = s_pending.IndexOf('\n', StringComparison.Ordinal)) >= 0)
                {
                    string line = s_pending[..nl].Trim();
                    s_pending = s_pending[(nl + 1)..];
                    if (line.Length > 0)
                    {
                        s_recent.Enqueue(line);
                        while (s_recent.Count > KeptLines)
                        {
                            s_recent.Dequeue();
                        }
                    }
                }
            }
            if (MinimumLevel != LlamaLogLevel.None && level >= (int)MinimumLevel)
            {
                Sink.Write(message);
            }
        }
    }
}
