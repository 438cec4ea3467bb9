using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using EdgeAvsr.Quantize.Conversion;
using EdgeAvsr.Quantize.Gguf;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Formats.Gguf;
using EdgeAvsr.Synthetic;
using Xunit.Abstractions;

namespace EdgeAvsr.Quantize.Tests;

/// <summary>
/// Our quantizer against llama.cpp's own llama_model_quantize (b10221, through LLamaSharp) run here on the same
/// F32 GGUF: identical files, for every <c>--type</c>, on the project's test shapes and small-Llama widths whose
/// rows are not whole 256-blocks (llama.cpp's fallback types).
/// </summary>
public sealed partial class QuantizeIdentityTests(ITestOutputHelper output)
{
    /// <summary>Every <c>--type</c> edgeavsr-quantize offers.</summary>
    private static readonly string[] s_types = ["f32", "f16", "q8_0", "q4_0", "q4_k_m", "q5_k_m", "q6_k"];

    /// <summary>
    /// The models: base (256 hidden, 512 FFN, untied, llama3 rope) and base-tied, as before; smollm (SmolLM-135M's
    /// widths, 576 hidden); ffn352 (a 352-wide FFN, untied); ffn336 (336 is not even a multiple of 32: F16 fallback);
    /// deep80 (80 narrow layers with grouped KV heads: llama.cpp's 70B rule and <c>use_more_bits</c> over many layers);
    /// hard (ffn352 with rows of zeros, constants, tiny values, outliers, ties in place of its weights).
    /// </summary>
    private static readonly Dictionary<string, TinyLlamaSpec> s_specs = new()
    {
        ["base"] = new() { Seed = 21, Layers = 4, TieWordEmbeddings = false, Llama3RopeScaling = true },
        ["base-tied"] = new() { Seed = 21, Layers = 4, TieWordEmbeddings = true },
        ["smollm"] = TinyLlamaGenerator.SmolLmShaped(seed: 23, layers: 4),
        ["ffn352"] = new() { Seed = 25, Layers = 4, IntermediateSize = 352, TieWordEmbeddings = false },
        ["ffn336"] = new() { Seed = 27, Layers = 4, IntermediateSize = 336, TieWordEmbeddings = true },
        ["deep80"] = new() { Seed = 29, Layers = 80, HiddenSize = 64, Heads = 2, KvHeads = 1, IntermediateSize = 96, TieWordEmbeddings = false },
    };

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string shape in s_specs.Keys.Append("hard"))
        {
            foreach (string type in s_types)
            {
                if (!(shape == "ffn336" && type is "q8_0" or "q4_0"))
                {
                    data.Add(shape, type);
                }
            }
        }
        return data;
    }

    /// <summary>The HF model (null for hard) and its F32 GGUF, made once per shape and test process (deleted at exit).</summary>
    private sealed record Input(string? Hf, string F32);

    private static readonly ConcurrentDictionary<string, Lazy<Input>> s_inputs = new();

    private static Input InputOf(string shape) => s_inputs.GetOrAdd(shape, s => new Lazy<Input>(() => MakeInput(s))).Value;

    private static Input MakeInput(string shape)
    {
        var dir = new TempDir();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => dir.Dispose();
        string f32 = dir.File("f32.gguf");
        if (shape == "hard")
        {
            WriteHardValues(InputOf("ffn352").F32, f32);
            return new Input(null, f32);
        }
        string hf = dir.File("hf");
        TinyLlamaGenerator.WriteModel(hf, s_specs[shape]);
        LlamaGgufConverter.Convert(new LlamaConversionRequest(hf, f32, LlamaFileType.F32) { Threads = 2 });
        return new Input(hf, f32);
    }

    /// <summary>A copy of an F32 GGUF with every quantizable tensor's rows replaced by <see cref="QuantizerBlockTests.HardValues"/>.</summary>
    private static void WriteHardValues(string source, string path)
    {
        using var src = GgufFile.Open(source);
        var writer = new GgufWriter(src.Alignment);
        foreach (var (k, v) in src.Metadata.Where(p => p.Key != "general.alignment"))
        {
            writer.Set(k, v);
        }
        foreach (var t in src.Tensors)
        {
            writer.AddTensor(t.Name, t.Type, t.Ne);
        }
        var rng = new Random(78);
        writer.Write(path, data =>
        {
            foreach (var t in src.Tensors)
            {
                byte[] bytes = src.ReadTensor(t);
                if (LlamaQuantRule.IsQuantizable(t.Name, t.Ne))
                {
                    var values = MemoryMarshal.Cast<byte, float>(bytes.AsSpan());
                    int length = (int)t.Ne[0];
                    for (int r = 0; r < values.Length / length; r++)
                    {
                        QuantizerBlockTests.HardValues(rng, r, values.Slice(r * length, length));
                    }
                }
                data.WriteTensor(bytes);
            }
        });
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Quantized_file_is_identical_to_llama_model_quantize(string shape, string type)
    {
        using var dir = new TempDir();
        var input = InputOf(shape);
        var fileType = LlamaFileTypes.Parse(type, "type");
        string theirs = dir.File("theirs.gguf");
        var (ok, log) = LlamaCppQuantizer.Quantize(input.F32, theirs, fileType, threads: 2);
        Assert.True(ok, $"llama_model_quantize failed on {shape} {type}:\n{Tail(log)}");
        // From the same F32 GGUF the whole file is identical, metadata order included.
        string fromGguf = dir.File("ours-from-gguf.gguf");
        GgufRequantizer.Quantize(input.F32, fromGguf, fileType, threads: 2);
        byte[] expectedFile = File.ReadAllBytes(theirs);
        byte[] actualFile = File.ReadAllBytes(fromGguf);
        int firstDiff = expectedFile.AsSpan().CommonPrefixLength(actualFile);
        Assert.True(expectedFile.Length == actualFile.Length && firstDiff == expectedFile.Length,
            $"{shape} {type}: GGUF -> GGUF output ({actualFile.Length} bytes) differs from llama_model_quantize's "
            + $"({expectedFile.Length} bytes) at byte {firstDiff}");

        using var b = GgufFile.Open(theirs);
        output.WriteLine($"{shape} {type}: {Summary(b)}");
        output.WriteLine("llama.cpp libraries: " + string.Join(", ", LlamaCppQuantizer.MappedEngineFiles().Select(Path.GetFileName).Distinct()));
        string? libllama = LlamaCppQuantizer.MappedEngineFiles().FirstOrDefault(f => f.EndsWith("libllama.so", StringComparison.Ordinal));
        output.WriteLine("llama.cpp from: " + Path.GetDirectoryName(libllama));
        foreach (string line in log.Split('\n').Where(l => l.Contains("falling back", StringComparison.Ordinal)))
        {
            output.WriteLine("llama.cpp: " + line.Trim());
        }
        if (input.Hf is null)
        {
            return;
        }
        // From the HF directory straight to the type: every tensor and metadata value as llama.cpp's file holds it.
        string ours = dir.File("ours.gguf");
        LlamaGgufConverter.Convert(new LlamaConversionRequest(input.Hf, ours, fileType) { Threads = 2 });
        using var a = GgufFile.Open(ours);
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
        // The mixes really mix: the K-quant files hold several quantized types (Q6_K itself where rows are whole 256-blocks).
        if (type is "q4_k_m" or "q5_k_m")
        {
            Assert.True(a.Tensors.Select(t => t.Type).Where(t => t is not (GgmlType.F32 or GgmlType.F16)).Distinct().Count() >= 2);
            if (shape is "base" or "base-tied")
            {
                Assert.Contains(a.Tensors, t => t.Type == GgmlType.Q6_K);
            }
        }
        Assert.Equal(new FileInfo(theirs).Length, new FileInfo(ours).Length);
    }

    /// <summary>
    /// The fallback types, written out by hand from llama-quant.cpp (b10221) for the small widths, checked on
    /// llama.cpp's own files: with 4 layers the _M mixes give attn_v and ffn_down of layers 2 and 3 Q6_K before
    /// any fallback.
    /// </summary>
    public static TheoryData<string, string, string> Expectations => new()
    {
        // SmolLM: rows of 576 everywhere but ffn_down (1536); the tied embedding takes the output's rule (Q8_0: 576 is no 256-multiple).
        { "smollm", "q4_k_m", "token_embd=q8_0 attn_q|attn_k|attn_output|ffn_gate|ffn_up=q5_0"
            + " attn_v.01=q5_0 attn_v.23=q8_0 ffn_down.01=q4_K ffn_down.23=q6_K" },
        { "smollm", "q5_k_m", "token_embd=q8_0 attn_q|attn_k|attn_output|ffn_gate|ffn_up=q5_1"
            + " attn_v.01=q5_1 attn_v.23=q8_0 ffn_down.01=q5_K ffn_down.23=q6_K" },
        { "smollm", "q6_k", "token_embd=q8_0 attn_q|attn_k|attn_output|ffn_gate|ffn_up|attn_v=q8_0 ffn_down=q6_K" },
        { "smollm", "q4_0", "token_embd=q8_0 attn_q|attn_k|attn_output|ffn_gate|ffn_up|attn_v|ffn_down=q4_0" },
        // 352-wide FFN, untied: only ffn_down has rows of 352.
        { "ffn352", "q4_k_m", "token_embd=q4_K output=q6_K attn_q|attn_k|attn_output|ffn_gate|ffn_up=q4_K"
            + " attn_v.01=q4_K attn_v.23=q6_K ffn_down.01=q5_0 ffn_down.23=q8_0" },
        { "ffn352", "q5_k_m", "token_embd=q5_K output=q6_K attn_q|attn_k|attn_output|ffn_gate|ffn_up=q5_K"
            + " attn_v.01=q5_K attn_v.23=q6_K ffn_down.01=q5_1 ffn_down.23=q8_0" },
        // 336 = 10.5 blocks of 32: the fallback's block does not divide it either, so F16.
        { "ffn336", "q4_k_m", "token_embd=q6_K attn_q|attn_k|attn_output|ffn_gate|ffn_up=q4_K attn_v.01=q4_K attn_v.23=q6_K ffn_down=f16" },
    };

    [Theory]
    [MemberData(nameof(Expectations))]
    public void Fallback_types_are_llama_cpp_s(string shape, string type, string expectation)
    {
        ArgumentNullException.ThrowIfNull(expectation);
        using var dir = new TempDir();
        string theirs = dir.File("theirs.gguf");
        var fileType = LlamaFileTypes.Parse(type, "type");
        Assert.True(LlamaCppQuantizer.Quantize(InputOf(shape).F32, theirs, fileType, threads: 2).Ok);
        var rules = expectation.Split(' ').Select(r => r.Split('=')).Select(r => (Pattern: r[0], Type: r[1])).ToList();
        using var b = GgufFile.Open(theirs);
        foreach (var t in b.Tensors.Where(t => LlamaQuantRule.IsQuantizable(t.Name, t.Ne)))
        {
            var match = rules.Where(r => Matches(r.Pattern, t.Name)).ToList();
            Assert.True(match.Count == 1, $"{t.Name}: {match.Count} expectations match");
            string wrote = GgmlTypes.Name(t.Type);
            Assert.True(match[0].Type == wrote, $"{shape} {type} {t.Name}: llama.cpp wrote {wrote}, expected {match[0].Type}");
        }
    }

    /// <summary>
    /// deep80 is "70B" to llama.cpp (80 layers, grouped KV): q4_k_m's attn_v goes Q4_K to Q5_K, then falls back to Q5_1 on
    /// rows of 64; use_more_bits over 80 layers picks 0-9, 70-79 and every third layer from 12 to 69 (Q6_K, then Q8_0 on these rows).
    /// </summary>
    [Fact]
    public void Seventy_b_rule_and_many_layers_are_llama_cpp_s()
    {
        using var dir = new TempDir();
        string theirs = dir.File("theirs.gguf");
        Assert.True(LlamaCppQuantizer.Quantize(InputOf("deep80").F32, theirs, LlamaFileType.Q4_K_M, threads: 2).Ok);
        using var b = GgufFile.Open(theirs);
        var expected = new Dictionary<string, string>
        {
            ["token_embd.weight"] = "q5_0", ["output.weight"] = "q8_0",
            ["blk.0.attn_v.weight"] = "q8_0", ["blk.9.attn_v.weight"] = "q8_0", ["blk.10.attn_v.weight"] = "q5_1",
            ["blk.11.attn_v.weight"] = "q5_1", ["blk.12.attn_v.weight"] = "q8_0", ["blk.68.attn_v.weight"] = "q5_1", ["blk.69.attn_v.weight"] = "q8_0",
            ["blk.70.attn_v.weight"] = "q8_0", ["blk.79.attn_v.weight"] = "q8_0",
            ["blk.0.ffn_down.weight"] = "q8_0", ["blk.11.ffn_down.weight"] = "q5_0", ["blk.12.ffn_down.weight"] = "q8_0",
            ["blk.11.attn_q.weight"] = "q5_0", ["blk.11.ffn_up.weight"] = "q5_0",
        };
        foreach (var (name, type) in expected)
        {
            Assert.Equal((name, type), (name, GgmlTypes.Name(b.FindTensor(name)!.Type)));
        }
    }

    /// <summary>"a|b" alternatives; "x.01" means tensor x of layers 0 and 1.</summary>
    private static bool Matches(string pattern, string name) => pattern.Split('|').Any(p =>
    {
        var m = LayerSuffix().Match(p);
        if (!m.Success)
        {
            return name.StartsWith(p + ".", StringComparison.Ordinal) || name.Contains("." + p + ".", StringComparison.Ordinal);
        }
        string tensor = m.Groups[1].Value;
        return m.Groups[2].Value.Any(layer => name == $"blk.{layer}.{tensor}.weight");
    });

    [GeneratedRegex(@"^(\w+)\.(\d+)$")]
    private static partial Regex LayerSuffix();

    /// <summary>llama.cpp has no fallback for a 32-block type on rows that are not 32-multiples; neither do we, with a clear error.</summary>
    [Theory]
    [InlineData("q8_0")]
    [InlineData("q4_0")]
    public void Rows_no_32_block_divides_are_refused_like_llama_cpp(string type)
    {
        using var dir = new TempDir();
        var input = InputOf("ffn336");
        var fileType = LlamaFileTypes.Parse(type, "type");
        Assert.False(LlamaCppQuantizer.Quantize(input.F32, dir.File("theirs.gguf"), fileType, threads: 2).Ok);
        var e = Assert.Throws<EdgeAvsrException>(() => GgufRequantizer.Quantize(input.F32, dir.File("ours.gguf"), fileType, threads: 2));
        Assert.Contains("blk.0.ffn_down.weight", e.Message, StringComparison.Ordinal);
        Assert.Contains("336", e.Message, StringComparison.Ordinal);
        var request = new LlamaConversionRequest(input.Hf!, dir.File("ours-hf.gguf"), fileType) { Threads = 2 };
        Assert.Throws<EdgeAvsrException>(() => LlamaGgufConverter.Convert(request));
    }

    /// <summary>Tensor counts per type, e.g. "f32 x9, q5_0 x20, q8_0 x3".</summary>
    private static string Summary(GgufFile f) =>
        string.Join(", ", f.Tensors.GroupBy(t => t.Type).OrderBy(g => g.Key).Select(g => $"{GgmlTypes.Name(g.Key)} x{g.Count()}"));

    private static string Tail(string log) => log.Length > 4000 ? log[^4000..] : log;
}
