using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Decoding;

namespace EdgeAvsr.Quantize.Tests;

/// <summary>What the quantizer tests ask of libllama, through LLamaSharp: does a file load, its sizes, its tokenizer.</summary>
internal static class LlamaNative
{
    /// <summary>Loads <paramref name="path"/> on the CPU; returns (n_embd, n_vocab) or null when llama.cpp refuses it.</summary>
    public static (int Embd, int Vocab)? TryLoad(string path)
    {
        try
        {
            using var model = DecoderModel.LoadHandle(path, offload: false, vocabOnly: false);
            return (model.EmbeddingSize, model.Vocab.Count);
        }
        catch (EdgeAvsrException)
        {
            return null;
        }
    }

    /// <summary>Tokenizes with the model's vocabulary (vocab-only load).</summary>
    public static int[] Tokenize(string path, string text, bool addSpecial, bool parseSpecial = false)
    {
        using var model = DecoderModel.LoadHandle(path, offload: false, vocabOnly: true);
        return DecoderModel.Tokenize(model, text, addSpecial, parseSpecial);
    }
}
