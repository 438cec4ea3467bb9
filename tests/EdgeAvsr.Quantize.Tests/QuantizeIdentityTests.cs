using EdgeAvsr.Quantize.Conversion;
using EdgeAvsr.Quantize.Testing;
using EdgeAvsr.Runtime.Formats.Gguf;
using EdgeAvsr.Runtime.Decoding;

namespace EdgeAvsr.Quantize.Tests;

/// <summary>Our quantizer against libllama's own llama_model_quantize on the same F32 GGUF: identical files.</summary>
public sealed class QuantizeIdentityTests
{
    public static TheoryData<string, bool> Types => new()
    {
        { "q8_0", true }, { "q4_0", true }, { "q4_k_m", true }, { "q5_k_m", true }, { "q6_k", true },
        { "q4_k_m", false }, { "q4_0", false },
    };

    /// <summary>The HF model and its F32 GGUF: they depend only on <c>tied</c>, so each is made once per test process (deleted at exit).</summary>
    private sealed record Input(string Hf, string F32);

    private static readonly Lazy<Input> s_untied = new(() => MakeInput(tied: false));
    private static readonly Lazy<Input> s_tied = new(() => MakeInput(tied: true));

    private static Input MakeInput(bool tied)
    {
        var dir = new TempDir();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => dir.Dispose();
        var spec = new TinyLlamaSpec { Seed = 21, Layers = 4, TieWordEmbeddings = tied, Llama3RopeScaling = !tied };
        string hf = dir.File("hf");
        TinyLlamaGenerator.WriteModel(hf, spec);
        string f32 = dir.File("f32.gguf");
        LlamaGgufConverter.Convert(new LlamaConversionRequest(hf, f32, LlamaFileType.F32) { Threads = 2 });
        return new Input(hf, f32);
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Quantized_file_is_identical_to_llama_model_quantize(string type, bool tied)
    {
        using var dir = new TempDir();
        var input = (tied ? s_tied : s_untied).Value;
        var fileType = LlamaFileTypes.Parse(type, "type");
        string f32 = input.F32;
        string ours = dir.File("ours.gguf");
        LlamaGgufConverter.Convert(new LlamaConversionRequest(input.Hf, ours, fileType) { Threads = 2 });
        string theirs = dir.File("theirs.gguf");
        LlamaModelQuantizer.Quantize(f32, theirs, (int)fileType, threads: 2);
        // From the same F32 GGUF (the benchmark's path) the whole file is identical, metadata order included.
        string fromGguf = dir.File("ours-from-gguf.gguf");
        GgufRequantizer.Quantize(f32, fromGguf, fileType, threads: 2);
        Assert.True(File.ReadAllBytes(theirs).AsSpan().SequenceEqual(File.ReadAllBytes(fromGguf)), "GGUF -> GGUF output differs from llama_model_quantize's file");

        using var a = GgufFile.Open(ours);
        using var b = GgufFile.Open(theirs);
        Assert.Equal(b.Tensors.Select(t => (t.Name, t.Type, string.Join(",", t.Ne))), a.Tensors.Select(t => (t.Name, t.Type, string.Join(",", t.Ne))));
        Assert.Equal(b.Metadata.Select(p => p.Key).Order(StringComparer.Ordinal), a.Metadata.Select(p => p.Key).Order(StringComparer.Ordinal));
        foreach (var (key, value) in b.Metadata)
        {
            Assert.True(value.Equals(a.Find(key)), $"metadata '{key}': llama.cpp {value}, ours {a.Find(key)}");
        }
        foreach (var t in b.Tensors)
        {
            byte[] expected = b.ReadTensor(t);
            byte[] actual = a.ReadTensor(a.FindTensor(t.Name)!);
            int diff = expected.AsSpan().CommonPrefixLength(actual);
            Assert.True(diff == expected.Length, $"{t.Name} ({GgmlTypes.Name(t.Type)}): first differing byte {diff} of {expected.Length}");
        }
        // The mixes really mix: the K-quant files hold several quantized types.
        if (type is "q4_k_m" or "q5_k_m")
        {
            Assert.Contains(a.Tensors, t => t.Type == GgmlType.Q6_K);
        }
        Assert.Equal(new FileInfo(theirs).Length, new FileInfo(ours).Length);
    }
}
