using EdgeAvsr.Quantize.Conversion;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Synthetic;

namespace EdgeAvsr.Quantize.Tests;

public sealed class CheckpointScriptTests
{
    private static string Script => Path.Combine(Python.RepoRoot, "Models", "checkpoints", "convert_avsr_checkpoint.py");

    [Fact]
    public void Lightning_pth_checkpoint_converts_to_safetensors_that_the_quantizer_reads()
    {
        using var dir = new TempDir();
        var spec = new TinyLlamaSpec { Seed = 41 };
        string hf = dir.File("hf");
        TinyLlamaGenerator.WriteModel(hf, spec);
        string reference = dir.File("reference.safetensors");
        string train = dir.File("train.json");
        TinyLlamaGenerator.WriteAvsrCheckpoint(reference, spec, trainConfig: train);
        // Build the authors' kind of file with torch: a Lightning {"state_dict"} whose keys sit under "model.", LLM in bf16.
        string pth = dir.File("avsr.pth");
        Python.Run($$"""
            import json, struct, numpy as np, torch
            raw = open({{Quote(reference)}}, "rb").read()
            n = struct.unpack("<Q", raw[:8])[0]
            header = json.loads(raw[8:8 + n])
            sd = {}
            for name, info in header.items():
                if name == "__metadata__":
                    continue
                a, b = info["data_offsets"]
                t = torch.from_numpy(np.frombuffer(raw[8 + n + a:8 + n + b], dtype=np.float32).copy().reshape(info["shape"]))
                sd["model." + name] = t.to(torch.bfloat16) if name.startswith("llm.") else t
            torch.save({"state_dict": sd, "epoch": 7}, {{Quote(pth)}})
            """);
        string converted = dir.File("avsr.safetensors");
        var (rc, stdout, stderr) = Python.Exec(Script, pth, converted);
        Assert.True(rc == 0, stderr);
        Assert.Contains("under llm.", stdout, StringComparison.Ordinal);

        using (var a = SafetensorsFile.Open(reference))
        using (var b = SafetensorsFile.Open(converted))
        {
            Assert.Equal(a.Tensors.Keys.Order(StringComparer.Ordinal), b.Tensors.Keys.Order(StringComparer.Ordinal));
            foreach (string name in a.Tensors.Keys)
            {
                float[] expected = a.ReadFloat32(name);
                if (name.StartsWith("llm.", StringComparison.Ordinal))
                {
                    Assert.Equal(TensorDType.BF16, b.Get(name).DType);
                    expected = expected.Select(v => TensorDTypes.BFloat16ToSingle(TensorDTypes.SingleToBFloat16(v))).ToArray();
                }
                Assert.Equal(expected, b.ReadFloat32(name));
            }
        }
        string gguf = dir.File("avsr.gguf");
        LlamaGgufConverter.Convert(new LlamaConversionRequest(hf, gguf, LlamaFileType.Q8_0) { CheckpointPath = converted, TrainConfigPath = train });
        Assert.NotNull(LlamaNative.TryLoad(gguf));
    }

    [Fact]
    public void Script_refuses_a_file_without_llm_tensors()
    {
        using var dir = new TempDir();
        string pth = dir.File("other.pth");
        Python.Run($"import torch; torch.save({{'encoder.w': torch.zeros(2)}}, {Quote(pth)})");
        var (rc, _, stderr) = Python.Exec(Script, pth, dir.File("out.safetensors"));
        Assert.Equal(2, rc);
        Assert.Contains("no 'llm.' tensors", stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("out.safetensors")));
    }

    private static string Quote(string s) => "'" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";
}
