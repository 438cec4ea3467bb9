using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace EdgeAvsr.Runtime.Interop.Llama;

/// <summary>A llama.cpp call failed: the function, its status code and llama.cpp's own last log lines.</summary>
public sealed class LlamaException : Exception
{
    public LlamaException(string function, int status, string message) : base(message)
    {
        Function = function;
        Status = status;
    }

    public LlamaException() { }

    public LlamaException(string message) : base(message) { }

    public LlamaException(string message, Exception inner) : base(message, inner) { }

    /// <summary>The llama.h function that failed.</summary>
    public string Function { get; } = "";

    /// <summary>Its return code (<see cref="int.MinValue"/> for a NULL pointer result).</summary>
    public int Status { get; }
}

/// <summary>The one place native llama.cpp results become exceptions.</summary>
[StackTraceHidden]
internal static class LlamaStatus
{
    public const int NullResult = int.MinValue;

    /// <summary><c>llama_decode</c>: 0 ok, 1 no KV slot, 2 aborted, -1 invalid batch, &lt; -1 fatal.</summary>
    public static void CheckDecode(int status, int batchTokens)
    {
        if (status != 0)
        {
            Throw("llama_decode", status, status switch
            {
                1 => $"no KV-cache slot for a batch of {batchTokens} tokens (context too small)",
                2 => "aborted",
                -1 => $"invalid input batch of {batchTokens} tokens",
                _ => "fatal error",
            });
        }
    }

    /// <summary>A native constructor returned NULL.</summary>
    public static nint CheckNotNull(nint result, string function, string what)
    {
        if (result == 0)
        {
            Throw(function, NullResult, what);
        }
        return result;
    }

    [DoesNotReturn]
    public static void Throw(string function, int status, string what)
    {
        string native = LlamaLog.RecentProblems();
        string code = status == NullResult ? "returned NULL" : $"returned {status}";
        throw new LlamaException(function, status, $"llama.cpp {function} {code}: {what}{(native.Length > 0 ? $" (llama.cpp: {native})" : "")}");
    }
}
