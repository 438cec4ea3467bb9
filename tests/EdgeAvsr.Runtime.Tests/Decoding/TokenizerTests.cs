using System.Text;
using EdgeAvsr.Runtime.Decoding;

namespace EdgeAvsr.Runtime.Tests.Decoding;

/// <summary>llama.cpp's tokenization of the GGUF against golden ids from an independent BPE over tokenizer.json.</summary>
public class TokenizerTests
{
    private static readonly string[] Fixed =
    [
        "", " ", "the cat sat on the mat", "The Cat SAT on THE mat.", "Transcribe speech and video to text.",
        "it's THEY'RE we've I'M you'll he'd", "123 4567 89012345 3.14159 -42", "hello\nworld\n\n  indented\tand\ttabs",
        "   leading and trailing   ", "punctuation!!! ??? ... ---", "café naïve résumé", "日本語のテキスト", "emoji 🙂 and 👍🏽",
        "mixed123abc 4x4 a1b2c3", "line\r\nbreaks\rhere", "!!!\n\n\n", "a", "   ", "cats,dogs;birds:fish",
    ];

    private static IEnumerable<string> RandomStrings(int count, int seed)
    {
        string[] pieces = ["the", " cat", " sat", "on", " mat", "There", " THE", "in", " morning", "'s", "'re", "123", "4567", " ", "  ", "\n", "\t",
            ",", ".", "!", "?",
            "é", "ñ", "ü", "語", "🙂", "-", "(", ")", "\"", "x", "Z", "0", "99", " and", "then", " ran", "hat", "birds", " dogs", "\r\n"];
        var rng = new Random(seed);
        for (int i = 0; i < count; i++)
        {
            var sb = new StringBuilder();
            int n = rng.Next(1, 16);
            for (int j = 0; j < n; j++)
            {
                sb.Append(pieces[rng.Next(pieces.Length)]);
            }
            yield return sb.ToString();
        }
    }

    [Fact]
    public void LlamaCppTokenization_EqualsReferenceBpe_OnManyStrings()
    {
        foreach (var m in new[] { TinyModels.Plain, TinyModels.Base })
        {
            CompareTokenization(m);
        }
    }

    private static void CompareTokenization(TinyModel m)
    {
        var reference = new ReferenceBpe(Path.Combine(m.HfDir, "tokenizer.json"));
        using var model = DecoderModel.Load(m.F32Gguf, LlamaBackendKind.Cpu);
        int checkedStrings = 0, multiToken = 0;
        foreach (string s in Fixed.Concat(RandomStrings(400, 17)))
        {
            int[] expected = reference.Encode(s);
            int[] actual = model.Tokenize(s);
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"'{s.ReplaceLineEndings("\\n")}': reference [{string.Join(' ', expected)}], " +
                $"llama.cpp [{string.Join(' ', actual)}]");
            // Decoding gives the text back (byte-level BPE is lossless).
            Assert.Equal(s, model.Detokenize(actual));
            checkedStrings++;
            multiToken += actual.Length > 1 ? 1 : 0;
        }
        Assert.True(multiToken > 300, $"only {multiToken} of {checkedStrings} strings had more than one token");
        // BOS is added only when asked.
        Assert.Equal([model.Bos, .. model.Tokenize("the cat")], model.Tokenize("the cat", addSpecial: true, parseSpecial: false));
    }

    [Fact]
    public void SpecialTokens_AreFoundInTheVocabulary()
    {
        var m = TinyModels.Base;
        using var model = DecoderModel.Load(m.F32Gguf, LlamaBackendKind.Cpu);
        var s = model.SpecialTokens;
        Assert.Equal(["<pad>", "<audio>", "</audio>", "<video>", "</video>"], new[] { s.Pad, s.AudioStart, s.AudioEnd, s.VideoStart,
            s.VideoEnd }.Select(t => model.TokenText(t)));
        Assert.Equal(5, new[] { s.Pad, s.AudioStart, s.AudioEnd, s.VideoStart, s.VideoEnd }.Distinct().Count());
        Assert.Contains(model.Eos, model.EndOfGeneration);
    }

    [Fact]
    public void AvsrPrompt_OnAGgufWithoutTheAvsrTokens_IsAClearError()
    {
        using var model = DecoderModel.Load(TinyModels.PlainGguf, LlamaBackendKind.Cpu);
        var e = Assert.Throws<EdgeAvsrException>(() => DecoderPrompt.ForAvsr(model, AvsrTask.Asr, new FloatMatrix(2, model.InputWidth), null));
        Assert.Contains("the vocabulary has no '<pad>' token", e.Message, StringComparison.Ordinal);
        Assert.Contains(Path.GetFileName(TinyModels.PlainGguf), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MalformedGguf_IsRejectedBeforeLlamaCppSeesIt()
    {
        // llama.cpp v0.5.0 aborts the whole process on llama.block_count 0; the managed validator must stop it first.
        using var dir = new TempDir();
        var w = new EdgeAvsr.Quantize.Gguf.GgufWriter();
        w.SetString("general.architecture", "llama");
        w.SetUInt32("llama.block_count", 0);
        w.SetUInt32("llama.embedding_length", 64);
        w.SetUInt32("llama.context_length", 128);
        w.Write(dir.File("bad.gguf"), _ => { });
        var e = Assert.Throws<EdgeAvsrException>(() => DecoderModel.Load(dir.File("bad.gguf"), LlamaBackendKind.Cpu));
        Assert.Contains("llama.block_count", e.Message, StringComparison.Ordinal);
        File.WriteAllBytes(dir.File("short.gguf"), "GGUF"u8.ToArray());
        Assert.Throws<EdgeAvsrException>(() => DecoderModel.Load(dir.File("short.gguf"), LlamaBackendKind.Cpu));
        // A real model cut short: one-line error, the process survives.
        byte[] whole = File.ReadAllBytes(TinyModels.PlainGguf);
        File.WriteAllBytes(dir.File("truncated.gguf"), whole.AsSpan(0, whole.Length - 1000).ToArray());
        e = Assert.Throws<EdgeAvsrException>(() => DecoderModel.Load(dir.File("truncated.gguf"), LlamaBackendKind.Cpu));
        Assert.Contains("truncated.gguf", e.Message, StringComparison.Ordinal);
    }
}
