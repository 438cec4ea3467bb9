using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Interop.Llama;

namespace EdgeAvsr.Quantize.Tests;

/// <summary>What the quantizer tests ask of libllama, through the runtime's binding: does a file load, its sizes, its tokenizer.</summary>
internal static class LlamaNative
{
    /// <summary>Loads <paramref name="path"/> on the CPU; returns (n_embd, n_vocab) or null when llama.cpp refuses it.</summary>
    public static (int Embd, int Vocab)? TryLoad(string path)
    {
        try
        {
            using var model = SafeLlamaModelHandle.Load(path, LlamaRuntime.ChooseBackend(LlamaBackendKind.Cpu));
            return (model.EmbeddingWidth, model.VocabularySize);
        }
        catch (EdgeAvsrException)
        {
            return null;
        }
    }

    /// <summary>Tokenizes with the model's vocabulary (vocab-only load).</summary>
    public static int[] Tokenize(string path, string text, bool addSpecial, bool parseSpecial = false)
    {
        using var model = SafeLlamaModelHandle.Load(path, LlamaRuntime.ChooseBackend(LlamaBackendKind.Cpu), vocabOnly: true);
        return model.Tokenize(text, addSpecial, parseSpecial);
    }
}
