using System.Runtime.InteropServices;
using LLama.Native;

namespace EdgeAvsr.Runtime.Interop;

/// <summary>What was loaded for one native engine, for logs and <c>edgeavsr doctor</c>.</summary>
/// <param name="Engine">"onnxruntime" or "llama.cpp".</param>
/// <param name="Files">Full paths of the library files loaded, in load order.</param>
/// <param name="Version">The engine's own version string.</param>
/// <param name="Details">Further facts (API level, backend and devices chosen, system info).</param>
public sealed record NativeEngineInfo(string Engine, IReadOnlyList<string> Files, string Version, IReadOnlyList<string> Details);
