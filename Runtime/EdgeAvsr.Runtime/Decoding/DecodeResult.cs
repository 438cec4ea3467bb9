using EdgeAvsr.Runtime.Interop;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using LLama.Native;

namespace EdgeAvsr.Runtime.Decoding;

/// <summary>A finished generation.</summary>
/// <param name="Tokens">Generated ids, EOS excluded.</param>
/// <param name="Text">Their text, special tokens skipped.</param>
/// <param name="Score">Greedy: summed log-probability of the tokens (EOS included when it ended the run); beam: the HF hypothesis score.</param>
/// <param name="Stop">Why generation ended.</param>
/// <param name="FirstLogits">The first step's logits when asked for.</param>
/// <param name="Timings">Prefill and generation time.</param>
public sealed record DecodeResult(int[] Tokens, string Text, double Score, StopReason Stop, float[]? FirstLogits, DecodeTimings Timings);
