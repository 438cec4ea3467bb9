using System.Text;
using System.Text.Json;
using EdgeAvsr.Quantize.Hf;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Synthetic;

/// <summary>
/// Writes a tiny Hugging Face Llama directory in the real layout, from a seed: config.json,
/// model.safetensors (or shards), a real byte-level BPE tokenizer.json learned from a small seeded corpus
/// (256 byte tokens + merges + Llama-3 special tokens), tokenizer_config.json; and LoRA adapters in the
/// PEFT and Llama-AVSR formats. Tests use it instead of downloading a model.
/// </summary>
public static partial class TinyLlamaGenerator
{
    /// <summary>The special tokens, in id order after the learned vocabulary (Llama-3 names).</summary>
    public static readonly string[] SpecialTokens =
        ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"];

    /// <summary>Longest synthetic filler token, in byte-level characters.</summary>
    private const int MaxFillerLength = 12;

    /// <summary>The special tokens of <paramref name="spec"/>: <see cref="SpecialTokens"/>, then reserved ones up to
    /// <see cref="TinyLlamaSpec.SpecialTokenCount"/>.</summary>
    public static IReadOnlyList<string> SpecialTokensFor(TinyLlamaSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.SpecialTokenCount < SpecialTokens.Length)
        {
            throw new ArgumentException($"SpecialTokenCount {spec.SpecialTokenCount} is below the {SpecialTokens.Length} named special tokens", nameof(spec));
        }
        var list = new List<string>(SpecialTokens);
        for (int i = 1; list.Count < spec.SpecialTokenCount; i++)
        {
            list.Add($"<|reserved_special_token_{i}|>");
        }
        return list;
    }

    /// <summary>config.json's vocab_size for <paramref name="spec"/>: regular + special tokens, or <see cref="TinyLlamaSpec.VocabSize"/> when larger.</summary>
    public static int VocabSizeOf(TinyLlamaSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return Math.Max(BuildVocabulary(spec).Vocab.Count + spec.SpecialTokenCount, spec.VocabSize ?? 0);
    }

    /// <summary>Writes the model directory; returns its vocabulary size.</summary>
    public static int WriteModel(string directory, TinyLlamaSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Directory.CreateDirectory(directory);
        int vocabSize = WriteTokenizerFiles(directory, spec);
        WriteWeights(directory, spec, vocabSize);
        return vocabSize;
    }

    internal static void WriteJson(string path, Action<Utf8JsonWriter> write)
    {
        AtomicFile.Write(path, stream =>
        {
            using var w = new Utf8JsonWriter(
                stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
            write(w);
        });
    }

    private static double Gaussian(Random rng)
    {
        double u1 = 1.0 - rng.NextDouble();
        double u2 = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    private static int StableHash(string s)
    {
        unchecked
        {
            int h = (int)2166136261;
            foreach (char c in s)
            {
                h = (h ^ c) * 16777619;
            }
            return h;
        }
    }
}
