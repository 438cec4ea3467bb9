using System.Text.Json.Nodes;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Formats.Gguf;
using EdgeAvsr.Synthetic;

namespace EdgeAvsr.Quantize.Tests;

[Collection("console")]
public sealed class CliTests
{
    private static (int Code, string Out, string Err) Invoke(params string[] args) =>
        ConsoleCapture.Run(() => Cli.Program.BuildRoot().Parse(args).Invoke());

    private static readonly TinyLlamaSpec Spec = new() { Seed = 51 };

    [Fact]
    public void Llm_writes_a_quantized_gguf()
    {
        using var dir = new TempDir();
        string hf = dir.File("hf");
        TinyLlamaGenerator.WriteModel(hf, Spec);
        var (code, stdout, stderr) = Invoke("llm", "--hf", hf, "--type", "q4_k_m", "--out", dir.File("m.gguf"), "--threads", "2");
        Assert.True(code == 0, stderr);
        Assert.Contains("wrote", stdout, StringComparison.Ordinal);
        LlamaGgufValidator.Validate(dir.File("m.gguf"));
        using var f = GgufFile.Open(dir.File("m.gguf"));
        Assert.Equal(15u, f.Find("general.file_type")!.Value);
    }

    public static TheoryData<string, string> BadInputs => new()
    {
        { "architecture", "unsupported architecture" },
        { "missing-key", "'hidden_size' is missing" },
        { "shape", "down_proj.weight' has shape [256, 512], expected [256, 600] from config.json" },
        { "nan", "'model.layers.1.mlp.up_proj.weight' holds NaN" },
        { "truncated", "truncated" },
        { "type", "--type 'q3_k' is not one of" },
        { "lora", "does not fit" },
        { "train-config-alone", "--train-config goes with --checkpoint" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void Llm_bad_input_is_one_line_exit_2_and_no_output(string kind, string expected)
    {
        using var dir = new TempDir();
        string hf = dir.File("hf");
        TinyLlamaGenerator.WriteModel(hf, Spec);
        string type = "q8_0";
        var extra = new List<string>();
        string config = Path.Combine(hf, "config.json");
        string weights = Path.Combine(hf, "model.safetensors");
        switch (kind)
        {
            case "architecture":
                EditConfig(config, c => c["model_type"] = "mistral");
                break;
            case "missing-key":
                EditConfig(config, c => c.Remove("hidden_size"));
                break;
            case "shape":
                EditConfig(config, c => c["intermediate_size"] = 600);
                break;
            case "nan":
                PoisonTensor(weights, "model.layers.1.mlp.up_proj.weight");
                break;
            case "truncated":
                var bytes = File.ReadAllBytes(weights);
                File.WriteAllBytes(weights, bytes[..(bytes.Length - 1000)]);
                break;
            case "type":
                type = "q3_k";
                break;
            case "lora":
                var lora = TinyLlamaGenerator.WriteLora(dir.File("lora"), Spec with { KvHeads = 4 });
                extra.AddRange(["--lora", lora.PeftDirectory]);
                break;
            case "train-config-alone":
                File.WriteAllText(Path.Combine(hf, "t.json"), "{}");
                extra.AddRange(["--train-config", Path.Combine(hf, "t.json")]);
                break;
        }
        string output = dir.File("out.gguf");
        var (code, _, stderr) = Invoke(["llm", "--hf", hf, "--type", type, "--out", output, .. extra]);
        Assert.Equal(2, code);
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
        Assert.Single(stderr.TrimEnd().Split('\n'));
        Assert.StartsWith("edgeavsr-quantize: ", stderr, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    private static void EditConfig(string path, Action<JsonObject> edit)
    {
        var node = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(node);
        File.WriteAllText(path, node.ToJsonString());
    }

    private static void PoisonTensor(string path, string poisoned)
    {
        var writer = new SafetensorsWriter();
        using (var f = SafetensorsFile.Open(path))
        {
            foreach (var t in f.Tensors.Values.OrderBy(t => t.FileOffset))
            {
                float[] v = f.ReadFloat32(t.Name);
                if (t.Name == poisoned)
                {
                    v[77] = float.NaN;
                }
                writer.AddFloat32(t.Name, t.Shape, v);
            }
        }
        writer.Write(path);
    }
}
