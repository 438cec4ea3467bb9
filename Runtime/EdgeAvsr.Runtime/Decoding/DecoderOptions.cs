using EdgeAvsr.Runtime.Interop;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using LLama.Native;

namespace EdgeAvsr.Runtime.Decoding;

/// <summary>How a decoder context is set up.</summary>
public sealed record DecoderOptions
{
    /// <summary>Worker threads; 0 = the cores this process may use (llama.cpp's own default of 4 oversubscribes small boards).</summary>
    public int Threads { get; init; }

    /// <summary>Flash attention off and an F32 KV cache, for verification runs (slower).</summary>
    public bool ExactNumerics { get; init; }

    /// <summary>Largest number of positions submitted to one llama_decode call.</summary>
    public int BatchSize { get; init; } = 512;

    /// <summary>
    /// Let llama.cpp time its own decode calls (<c>no_perf</c> off) so that <see cref="DecodeTimings.GenerationNativeEval"/> is
    /// filled (benchmarks: the binding's cost is the generation time outside it).
    /// </summary>
    public bool NativeTimings { get; init; }

    /// <summary>
    /// How single-token calls pick their thread count; the default measures, as a fixed count collapses when another process
    /// holds one of its cores.
    /// </summary>
    public DecoderThreadPolicy ThreadPolicy { get; init; }

    /// <summary>Makes the adaptive policy's chooser for a thread limit (tests and benchmarks; null: the defaults).</summary>
    public Func<int, DecoderThreadChooser>? ThreadChooserFactory { get; init; }

    public int ResolvedThreads => ThreadCount.Resolve(Threads);
}
