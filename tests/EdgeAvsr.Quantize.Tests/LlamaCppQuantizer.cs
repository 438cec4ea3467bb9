using System.Collections.Concurrent;
using EdgeAvsr.Quantize.Conversion;
using LLama;
using LLama.Native;

namespace EdgeAvsr.Quantize.Tests;

/// <summary>
/// llama.cpp's own llama_model_quantize (the pinned b10221 libllama of LLamaSharp.Backend.Cpu), through
/// LLamaSharp's LLamaQuantizer: the oracle of the quantizer identity tests. Only LLamaSharp's libraries are
/// loaded here, never the runtime's own binding.
/// </summary>
internal static class LlamaCppQuantizer
{
    private static readonly Lock s_gate = new();
    private static readonly ConcurrentQueue<string> s_log = new();

    private static bool s_loaded;

    /// <summary>
    /// Loads LLamaSharp's libllama, refusing first when another libllama or libggml is mapped into this process
    /// (the runtime's own binding loads one with the same sonames, and the two builds must never meet).
    /// </summary>
    private static void EnsureLoaded()
    {
        if (s_loaded)
        {
            return;
        }
        var foreign = MappedEngineFiles().Where(path => !path.Contains("/runtimes/", StringComparison.Ordinal)).ToList();
        Assert.True(foreign.Count == 0, $"another llama.cpp build is already loaded in this test process: {string.Join(", ", foreign)}");
        // llama.cpp logs every tensor; keep its lines (the fallback warnings among them) for the test output instead of stderr.
        if (!NativeLibraryConfig.LLama.LibraryHasLoaded)
        {
            NativeLibraryConfig.All.WithLogCallback((level, message) => s_log.Enqueue(message));
        }
        // Loads libllama through NativeApi's resolver first: LLamaQuantizer's own P/Invoke does not trigger it.
        NativeApi.llama_empty_call();
        s_loaded = true;
    }

    /// <summary>The libllama / libggml files mapped into this process (Linux).</summary>
    public static IReadOnlyList<string> MappedEngineFiles() => !OperatingSystem.IsLinux() ? [] : File.ReadLines("/proc/self/maps")
        .Select(line => line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries))
        .Where(p => p.Length == 6)
        .Select(p => p[5].Trim())
        .Where(path => Path.GetFileName(path) is { } f
            && (f.StartsWith("libllama", StringComparison.Ordinal) || f.StartsWith("libggml", StringComparison.Ordinal)))
        .Distinct(StringComparer.Ordinal)
        .ToList();

    /// <summary>
    /// Quantizes <paramref name="input"/> to <paramref name="output"/> as llama-quantize would (output tensor
    /// quantized, no requantizing, no importance matrix); returns whether llama.cpp succeeded and what it logged.
    /// </summary>
    public static (bool Ok, string Log) Quantize(string input, string output, LlamaFileType type, int threads)
    {
        lock (s_gate)
        {
            EnsureLoaded();
            while (s_log.TryDequeue(out _))
            {
            }
            bool ok = LLamaQuantizer.Quantize(input, output, (LLamaFtype)(int)type, threads, allowRequantize: false, quantizeOutputTensor: true);
            return (ok, string.Concat(s_log));
        }
    }
}
