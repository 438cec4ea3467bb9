using System.Text.Json;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Synthetic;

/// <summary>LoRA adapters in the PEFT and Llama-AVSR formats, and the AVSR checkpoint that carries them.</summary>
public static partial class TinyLlamaGenerator
{
    /// <summary>
    /// Writes a seeded LoRA on q_proj and v_proj in both formats under <paramref name="directory"/>:
    /// peft/ (adapter_model.safetensors + adapter_config.json, rank <paramref name="peftRank"/>) and
    /// avsr_lora.safetensors (llm.model.layers.{i}.self_attn.lora_{down,up}_{Q,V}.weight, inner dim
    /// round(hidden/<paramref name="reduction"/>)) with train_config.json holding the authors' argument names.
    /// </summary>
    public static TinyLora WriteLora(
        string directory, TinyLlamaSpec spec, int peftRank = 8, double peftAlpha = 16, int reduction = 32, double alpha = 4, double scale = 1.0)
    {
        ArgumentNullException.ThrowIfNull(spec);
        string peftDir = Path.Combine(directory, "peft");
        Directory.CreateDirectory(peftDir);
        int h = spec.HiddenSize;
        var peft = new SafetensorsWriter();
        for (int i = 0; i < spec.Layers; i++)
        {
            foreach (var (proj, outDim) in new[] { ("q_proj", h), ("v_proj", spec.KvWidth) })
            {
                string p = $"base_model.model.model.layers.{i}.self_attn.{proj}.";
                long[] a = [peftRank, h], b = [outDim, peftRank];
                peft.AddFloat32(p + "lora_A.weight", a, TensorValues(spec.Seed + 7, p + "A", a, scale));
                peft.AddFloat32(p + "lora_B.weight", b, TensorValues(spec.Seed + 7, p + "B", b, scale));
            }
        }
        peft.Write(Path.Combine(peftDir, "adapter_model.safetensors"));
        WriteJson(Path.Combine(peftDir, "adapter_config.json"), w =>
        {
            w.WriteStartObject();
            w.WriteString("peft_type", "LORA");
            w.WriteString("task_type", "CAUSAL_LM");
            w.WriteNumber("r", peftRank);
            w.WriteNumber("lora_alpha", peftAlpha);
            w.WriteNumber("lora_dropout", 0.0);
            w.WriteStartArray("target_modules");
            w.WriteStringValue("q_proj");
            w.WriteStringValue("v_proj");
            w.WriteEndArray();
            w.WriteBoolean("fan_in_fan_out", false);
            w.WriteString("bias", "none");
            w.WriteBoolean("use_rslora", false);
            w.WriteBoolean("use_dora", false);
            w.WriteEndObject();
        });

        int rank = (int)Math.Round(h / (double)reduction, MidpointRounding.ToEven);
        var avsr = new SafetensorsWriter();
        for (int i = 0; i < spec.Layers; i++)
        {
            string p = $"llm.model.layers.{i}.self_attn.";
            foreach (var (m, outDim) in new[] { ("Q", h), ("V", spec.KvWidth) })
            {
                long[] down = [rank, h], up = [outDim, rank];
                avsr.AddFloat32(p + $"lora_down_{m}.weight", down, TensorValues(spec.Seed + 11, p + "down" + m, down, scale));
                avsr.AddFloat32(p + $"lora_up_{m}.weight", up, TensorValues(spec.Seed + 11, p + "up" + m, up, scale));
            }
        }
        string ckpt = Path.Combine(directory, "avsr_lora.safetensors");
        avsr.Write(ckpt);
        string trainConfig = Path.Combine(directory, "train_config.json");
        WriteJson(trainConfig, w =>
        {
            w.WriteStartObject();
            w.WriteNumber("reduction_lora", reduction);
            w.WriteNumber("alpha", alpha);
            w.WriteEndObject();
        });
        return new TinyLora(peftDir, ckpt, trainConfig, reduction, alpha, peftRank, peftAlpha) { AvsrRank = rank };
    }

    /// <summary>
    /// Writes a Llama-AVSR-style checkpoint as safetensors: the LLM under "llm." with its embedding (and
    /// lm_head) grown by the 5 AVSR special tokens, its LoRA (lora_{down,up}_{Q,V}, inner dim
    /// round(hidden/reduction)), and a few non-LLM tensors (projector, encoder) that conversion must ignore;
    /// plus the training-arguments JSON (reduction_lora, alpha) beside it unless <paramref name="trainConfig"/> is null.
    /// </summary>
    public static void WriteAvsrCheckpoint(
        string path, TinyLlamaSpec spec, int reduction = 32, double alpha = 4, string? trainConfig = null, double loraScale = 1.0)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var w = new SafetensorsStreamWriter();
        AddAvsrLlmTensors(w, spec, reduction, loraScale, TensorDType.F32);
        long[] proj = [spec.HiddenSize, 64];
        w.AddFloat("audio_proj.fc1.weight", TensorDType.F32, proj, () => TensorValues(spec.Seed, "proj", proj, 1));
        w.AddFloat("video_encoder.layer0.weight", TensorDType.F32, [8, 8], () => TensorValues(spec.Seed, "enc", [8, 8], 1));
        w.Write(path);
        if (trainConfig is not null)
        {
            WriteJson(trainConfig, j =>
            {
                j.WriteStartObject();
                j.WriteNumber("reduction_lora", reduction);
                j.WriteNumber("alpha", alpha);
                j.WriteString("llm_model", "meta-llama/Llama-3.2-1B");
                j.WriteEndObject();
            });
        }
    }

    /// <summary>
    /// Declares the <c>llm.*</c> tensors of a Llama-AVSR checkpoint on <paramref name="w"/> (generated when the file is
    /// written): the base weights of <paramref name="spec"/> with the embedding (and lm_head, also written when tied, as
    /// the authors' state dict holds it) grown by the 5 AVSR special tokens, and LoRA <c>lora_{down,up}_{Q,V}</c> of
    /// inner dim round(hidden/<paramref name="reduction"/>) on every layer (<c>lora_up_V</c> outputs the KV width).
    /// </summary>
    public static void AddAvsrLlmTensors(SafetensorsStreamWriter w, TinyLlamaSpec spec, int reduction, double loraScale, TensorDType dtype)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(spec);
        int baseVocab = VocabSizeOf(spec);
        int rows = baseVocab + 5;
        foreach (var (name, shape) in TensorShapes(spec, baseVocab))
        {
            long[] s = name is "model.embed_tokens.weight" or "lm_head.weight" ? [rows, spec.HiddenSize] : shape;
            string seedName = name is "model.embed_tokens.weight" or "lm_head.weight" ? name + ".avsr" : name;
            w.AddFloat("llm." + name, dtype, s, () => TensorValues(spec.Seed, seedName, s, spec.WeightScale));
        }
        if (spec.TieWordEmbeddings)
        {
            long[] s = [rows, spec.HiddenSize];
            w.AddFloat("llm.lm_head.weight", dtype, s, () => TensorValues(spec.Seed, "model.embed_tokens.weight.avsr", s, spec.WeightScale));
        }
        int h = spec.HiddenSize;
        int rank = (int)Math.Round(h / (double)reduction, MidpointRounding.ToEven);
        for (int i = 0; i < spec.Layers; i++)
        {
            string p = $"llm.model.layers.{i}.self_attn.";
            foreach (var (m, outDim) in new[] { ("Q", h), ("V", spec.KvWidth) })
            {
                long[] down = [rank, h], up = [outDim, rank];
                w.AddFloat(p + $"lora_down_{m}.weight", dtype, down, () => TensorValues(spec.Seed + 11, p + "down" + m, down, loraScale));
                w.AddFloat(p + $"lora_up_{m}.weight", dtype, up, () => TensorValues(spec.Seed + 11, p + "up" + m, up, loraScale));
            }
        }
    }
}
