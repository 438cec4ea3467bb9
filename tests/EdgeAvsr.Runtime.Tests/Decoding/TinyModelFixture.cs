using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeAvsr.Quantize.Conversion;
using EdgeAvsr.Quantize.Testing;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Runtime.Tests.Decoding;

internal sealed record TinyModel(string HfDir, string F32Gguf, ReferenceLlama Reference);

/// <summary>
/// Tiny seeded Llama models shared by the decoder tests, made once per test process (deleted at exit) with the
/// quantize library's generator and HF->GGUF converter: hidden 256, 2 layers, 4 heads / 2 KV heads, Llama-3
/// RoPE scaling, tied embeddings, plus Llama-AVSR's added tokens (&lt;pad&gt; &lt;audio&gt; &lt;/audio&gt; &lt;video&gt; &lt;/video&gt;).
/// </summary>
internal static class TinyModels
{
    public static readonly TinyLlamaSpec Spec = new() { Seed = 31, Llama3RopeScaling = true };

    private static readonly Lazy<TempDir> s_dir = new(() =>
    {
        var dir = new TempDir();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => dir.Dispose();
        return dir;
    });

    private static readonly Lazy<TinyModel> s_base = new(() => Make("avsr", addAvsrTokens: true));

    private static readonly Lazy<string> s_plain = new(() => Make("plain", addAvsrTokens: false).F32Gguf);

    /// <summary>The model with the AVSR tokens added (what the decoder runs).</summary>
    public static TinyModel Base => s_base.Value;

    /// <summary>A GGUF of the plain base model: no AVSR tokens.</summary>
    public static string PlainGguf => s_plain.Value;

    private static TinyModel Make(string name, bool addAvsrTokens)
    {
        string hf = s_dir.Value.File(name);
        TinyLlamaGenerator.WriteModel(hf, Spec);
        if (addAvsrTokens)
        {
            AddTokens(hf, ["<pad>", "<audio>", "</audio>", "<video>", "</video>"], Spec.Seed);
        }
        string gguf = s_dir.Value.File(name + ".f32.gguf");
        LlamaGgufConverter.Convert(new LlamaConversionRequest(hf, gguf, LlamaFileType.F32) { Threads = 1 });
        return new TinyModel(hf, gguf, new ReferenceLlama(hf));
    }

    /// <summary>
    /// What Llama-AVSR does to the HF model (tokenizer.add_special_tokens + resize_token_embeddings): the tokens
    /// are appended as special added tokens and the embedding matrix (and an untied head) grows by seeded rows.
    /// </summary>
    private static void AddTokens(string hf, string[] tokens, int seed)
    {
        string configPath = Path.Combine(hf, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        int oldVocab = config["vocab_size"]!.GetValue<int>();
        config["vocab_size"] = oldVocab + tokens.Length;
        File.WriteAllText(configPath, config.ToJsonString());

        string tokPath = Path.Combine(hf, "tokenizer.json");
        var tok = JsonNode.Parse(File.ReadAllText(tokPath))!.AsObject();
        var added = tok["added_tokens"]!.AsArray();
        for (int i = 0; i < tokens.Length; i++)
        {
            added.Add(new JsonObject
            {
                ["id"] = oldVocab + i, ["content"] = tokens[i], ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
            });
        }
        File.WriteAllText(tokPath, tok.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));

        string weights = Path.Combine(hf, "model.safetensors");
        var writer = new SafetensorsWriter();
        using (var f = SafetensorsFile.Open(weights))
        {
            var rng = new Random(seed);
            foreach (var (name, t) in f.Tensors)
            {
                float[] values = f.ReadFloat32(name);
                if (name is "model.embed_tokens.weight" or "lm_head.weight")
                {
                    int hidden = (int)t.Shape[1];
                    var grown = new float[values.Length + tokens.Length * hidden];
                    values.CopyTo(grown, 0);
                    for (int i = values.Length; i < grown.Length; i++)
                    {
                        grown[i] = (float)((rng.NextDouble() * 2 - 1) * 0.05);
                    }
                    writer.AddFloat32(name, [t.Shape[0] + tokens.Length, hidden], grown);
                }
                else
                {
                    writer.AddFloat32(name, t.Shape, values);
                }
            }
        }
        writer.Write(weights);
    }
}
