using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EdgeAvsr.Runtime.Interop.Llama;

/// <summary>Severity of a llama.cpp / ggml log message (ggml_log_level; CONT continues the previous one).</summary>
public enum LlamaLogLevel
{
    Debug = 1,
    Info = 2,
    Warn = 3,
    Error = 4,
    None = 99,
}

/// <summary>
/// llama.cpp's log output, routed through <c>llama_log_set</c> (which also sets ggml's) to stderr with a level
/// filter. Quiet by default: <see cref="MinimumLevel"/> starts at <see cref="LlamaLogLevel.None"/> unless
/// <c>$EDGEAVSR_LLAMA_LOG</c> is debug|info|warn|error. Warnings and errors are kept (last few lines) whatever
/// the filter, so exceptions can quote llama.cpp's own reason.
/// </summary>
public static unsafe class LlamaLog
{
    public const string LevelVariable = "EDGEAVSR_LLAMA_LOG";
    private const int KeptLines = 8;
    private static readonly Lock s_gate = new();
    private static readonly Queue<string> s_recent = new();
    private static int s_lastLevel = (int)LlamaLogLevel.Info;
    private static string s_pending = "";

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

    internal static void Install() => LlamaApi.llama_log_set(&OnLog, null);

    internal static nint CallbackPointer => (nint)(delegate* unmanaged[Cdecl]<int, byte*, void*, void>)&OnLog;

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnLog(int level, byte* text, void* userData)
    {
        try
        {
            string message = Marshal.PtrToStringUTF8((nint)text) ?? "";
            Receive(level, message);
        }
#pragma warning disable CA1031 // an exception must never unwind into native code
        catch (Exception)
        {
        }
#pragma warning restore CA1031
    }

    /// <summary>One callback: CONT (5) fragments continue the previous level; whole lines are filtered and kept.</summary>
    internal static void Receive(int level, string message)
    {
        lock (s_gate)
        {
            if (level == 5)
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
            if (level >= (int)MinimumLevel && MinimumLevel != LlamaLogLevel.None)
            {
                Sink.Write(message);
            }
        }
    }
}
