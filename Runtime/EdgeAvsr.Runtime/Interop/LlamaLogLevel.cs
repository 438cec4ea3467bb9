namespace EdgeAvsr.Runtime.Interop;

/// <summary>Severity of a llama.cpp / ggml log message (ggml_log_level; CONT continues the previous one).</summary>
public enum LlamaLogLevel
{
    Debug = 1,
    Info = 2,
    Warn = 3,
    Error = 4,
    None = 99,
}
