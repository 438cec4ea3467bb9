using System.Runtime.InteropServices;
using EdgeAvsr.Runtime.Interop;
using LLama.Native;
using NativeDecodeResult = LLama.Native.DecodeResult;

namespace EdgeAvsr.Runtime.Decoding;

/// <summary>The devices chosen for a model and why.</summary>
/// <param name="Kind">"CPU" or "CUDA".</param>
/// <param name="Devices">The ggml devices used.</param>
/// <param name="Reason">How the choice was made.</param>
public sealed record LlamaBackendChoice(string Kind, IReadOnlyList<string> Devices, string Reason)
{
    /// <summary>Offload every layer to the GPU devices (false: llama.cpp keeps every layer on the CPU).</summary>
    internal bool Offload => Kind == "CUDA";

    public override string ToString() => $"{Kind} [{string.Join("; ", Devices)}] ({Reason})";
}
