using EdgeAvsr.Runtime.Interop;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using LLama.Native;

namespace EdgeAvsr.Runtime.Decoding;

/// <summary>What to generate.</summary>
public sealed record GenerationOptions
{
    public int MaxNewTokens { get; init; } = 32;

    /// <summary>1 = greedy; more = beam search as Hugging Face generate (the authors use 15).</summary>
    public int Beams { get; init; } = 1;

    /// <summary>Keep the logits of the first generation step (the prompt's last position).</summary>
    public bool KeepFirstLogits { get; init; }

    /// <summary>Stop at an end-of-generation token (false only for benchmarks that need a fixed token count; greedy only).</summary>
    public bool StopAtEndOfGeneration { get; init; } = true;
}
