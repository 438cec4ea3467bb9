using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeAvsr.Quantize.Conversion;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Synthetic;

// Writes a Llama-3.2-1B-shaped Hugging Face directory with seeded random weights (hidden 2048, 16 layers,
// 32 heads / 8 KV heads, FFN 8192, vocabulary 128256, tied embeddings, Llama-3 RoPE scaling, BF16) with the
// quantize library's generator, then converts it with edgeavsr-quantize's converter to the GGUF types asked for.
//
//   dotnet run --project tools/bench-models -c Release -- OUT_DIR [q8_0 q4_k_m ...]
if (args.Length < 1)
{
    Console.Error.WriteLine("usage: bench-models OUT_DIR [type ...]   (types: f32 f16 q8_0 q4_0 q4_k_m q5_k_m q6_k; default q8_0 q4_k_m)");
    return 2;
}
const int Vocab = 128256;
string outDir = Path.GetFullPath(args[0]);
string hf = Path.Combine(outDir, "llama-3.2-1b-shaped");
string[] types = args.Length > 1 ? args[1..] : ["q8_0", "q4_k_m"];
var spec = new TinyLlamaSpec
{
    Seed = 2025, HiddenSize = 2048, Layers = 16, Heads = 32, KvHeads = 8, IntermediateSize = 8192, MaxPositionEmbeddings = 131072,
    TieWordEmbeddings = true, Llama3RopeScaling = true, Bf16 = true, Sharded = true,
};
var clock = Stopwatch.StartNew();
if (!File.Exists(Path.Combine(hf, "config.json")))
{
    int baseVocab = TinyLlamaGenerator.WriteModel(hf, spec);
    PadVocabulary(hf, spec, baseVocab);
    Console.WriteLine($"{hf}: written in {clock.Elapsed.TotalSeconds:F0} s (vocabulary {baseVocab} learned + reserved tokens up to {Vocab})");
}
foreach (string t in types)
{
    var type = LlamaFileTypes.Parse(t, "type");
    string gguf = Path.Combine(outDir, $"llama-3.2-1b-shaped.{t}.gguf");
    clock.Restart();
    var result = LlamaGgufConverter.Convert(new LlamaConversionRequest(hf, gguf, type));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{gguf}: {result.TensorCount} tensors, {result.FileBytes / 1e6:F0} MB in {clock.Elapsed.TotalSeconds:F0} s"));
}
return 0;

// Llama 3 fills its vocabulary to 128256 with <|reserved_special_token_N|>; so does this model, and the
// embedding matrix grows by seeded rows to match.
static void PadVocabulary(string hf, TinyLlamaSpec spec, int baseVocab)
{
    int extra = Vocab - baseVocab;
    string configPath = Path.Combine(hf, "config.json");
    var config = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
    config["vocab_size"] = Vocab;
    File.WriteAllText(configPath, config.ToJsonString());
    string tokPath = Path.Combine(hf, "tokenizer.json");
    var tok = JsonNode.Parse(File.ReadAllText(tokPath))!.AsObject();
    var added = tok["added_tokens"]!.AsArray();
    for (int i = 0; i < extra; i++)
    {
        added.Add((JsonNode)new JsonObject
        {
            ["id"] = baseVocab + i, ["content"] = $"<|reserved_special_token_{i + 1}|>", ["single_word"] = false, ["lstrip"] = false,
                ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
        });
    }
    File.WriteAllText(tokPath, tok.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));

    string shard = Directory.GetFiles(hf, "model-*.safetensors").Order(StringComparer.Ordinal).First();
    var writer = new SafetensorsWriter();
    writer.SetMetadata("format", "pt");
    using (var f = SafetensorsFile.Open(shard))
    {
        foreach (var (name, t) in f.Tensors.OrderBy(p => p.Value.FileOffset))
        {
            byte[] raw = f.ReadRaw(t);
            if (name == "model.embed_tokens.weight")
            {
                long[] grownShape = [Vocab, t.Shape[1]];
                var more = TinyLlamaGenerator.TensorValues(spec.Seed + 1, name, [extra, t.Shape[1]], spec.WeightScale)
                    .Select(TensorDTypes.SingleToBFloat16).ToArray();
                var bytes = new byte[raw.Length + more.Length * 2];
                raw.CopyTo(bytes, 0);
                System.Runtime.InteropServices.MemoryMarshal.AsBytes(more.AsSpan()).CopyTo(bytes.AsSpan(raw.Length));
                writer.Add(name, t.DType, grownShape, bytes);
            }
            else
            {
                writer.Add(name, t.DType, t.Shape, raw);
            }
        }
    }
    writer.Write(shard);
}
