using EdgeAvsr.Runtime.Interop;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using LLama.Native;

namespace EdgeAvsr.Runtime.Decoding;

/// <summary>Where the time went: prompt prefill and generation (wall clock), and the positions decoded.</summary>
/// <param name="Prefill">Prompt prefill, wall clock.</param>
/// <param name="Generation">Generation, wall clock.</param>
/// <param name="PromptPositions">Positions of the prompt.</param>
/// <param name="GenerationDecodeCalls">Decode calls during generation.</param>
/// <param name="GeneratedPositions">Positions decoded during generation.</param>
/// <param name="GenerationNativeCalls">Greedy generation: wall time inside the decode and logits calls (LLamaSharp's
/// wrappers and libllama).</param>
/// <param name="GenerationNativeEval">Greedy generation: llama.cpp's own time in its decode calls (llama_perf_context
/// t_eval), when <see cref="DecoderOptions.NativeTimings"/> is set; else zero.</param>
public sealed record DecodeTimings(TimeSpan Prefill, TimeSpan Generation, int PromptPositions, int GenerationDecodeCalls, int GeneratedPositions,
    TimeSpan GenerationNativeCalls = default, TimeSpan GenerationNativeEval = default);
