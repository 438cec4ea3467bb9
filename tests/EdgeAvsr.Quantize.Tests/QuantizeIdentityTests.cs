using EdgeAvsr.Quantize.Conversion;
using EdgeAvsr.Quantize.Testing;
using EdgeAvsr.Runtime.Formats.Gguf;

namespace EdgeAvsr.Quantize.Tests;

/// <summary>Our quantizer against libllama's own llama_model_quantize on the same F32 GGUF: identical files.</summary>
public sealed class QuantizeIdentityTests
{
    public static TheoryData<string, bool> Types => new()
    {
        { "q8_0", true }, { "q4_0", true }, { "q4_k_m", true }, { "q5_k_m", true }, { "q6_k", true },
        { "q4_k_m", false }, { "q4_0", false },
    };

    [Theory]
    [MemberData(nameof(Types))]
    public void Quantized_file_is_identical_to_llama_model_quantize(string type, bool tied)
    {
        using var dir = new TempDir();
        var spec = new TinyLlamaSpec { Seed = 21, Layers = 4, TieWordEmbeddings = tied, Llama3RopeScaling = !tied };
        var fileType = LlamaFileTypes.Parse(type, "type");
        string f32 = ConversionTests.Convert(dir, spec, LlamaFileType.F32, "f32.gguf");
        string ours = ConversionTests.Convert(dir, spec, fileType, "ours.gguf");
        string theirs = dir.File("theirs.gguf");
        Assert.Equal(0u, LlamaNative.Quantize(f32, theirs, (int)fileType, threads: 2));

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
