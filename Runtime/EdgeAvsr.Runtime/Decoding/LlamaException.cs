using System.Runtime.InteropServices;
using EdgeAvsr.Runtime.Interop;
using LLama.Native;
using NativeDecodeResult = LLama.Native.DecodeResult;

namespace EdgeAvsr.Runtime.Decoding;

/// <summary>A llama.cpp call failed: the call, its status and llama.cpp's own last warnings.</summary>
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

    /// <summary>Its return code.</summary>
    public int Status { get; }

    /// <summary>Throws for a <c>llama_decode</c> result other than Ok.</summary>
    internal static void CheckDecode(NativeDecodeResult status, int batchEntries)
    {
        if (status != NativeDecodeResult.Ok)
        {
            string what = status switch
            {
                NativeDecodeResult.NoKvSlot => $"no KV-cache slot for a batch of {batchEntries} entries (context too small)",
                NativeDecodeResult.ComputeAborted => "aborted",
                NativeDecodeResult.InvalidInputBatch => $"invalid input batch of {batchEntries} entries",
                _ => $"{status}",
            };
            string native = LlamaLog.RecentProblems();
            throw new LlamaException("llama_decode", (int)status,
                $"llama.cpp llama_decode returned {(int)status}: {what}{(native.Length > 0 ? $" (llama.cpp: {native})" : "")}");
        }
    }
}
