using EdgeAvsr.Quantize.Conversion;
using EdgeAvsr.Synthetic;

namespace EdgeAvsr.Runtime.Tests.Decoding;

internal sealed record TinyModel(string HfDir, string F32Gguf, ReferenceLlama Reference);

/// <summary>
/// Tiny seeded Llama models shared by the decoder tests, made once per test process (deleted at exit) with the
/// quantize library's generator and HF->GGUF converter: hidden 256, 2 layers, 4 heads / 2 KV heads, Llama-3
/// RoPE scaling, tied embeddings. <see cref="Avsr"/> is converted from a Llama-AVSR checkpoint (the 5 added
/// tokens, LoRA on Q and V merged), <see cref="Plain"/> from the base directory alone.
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

    private static readonly Lazy<string> s_hf = new(() =>
    {
        string hf = s_dir.Value.File("hf");
        TinyLlamaGenerator.WriteModel(hf, Spec);
        return hf;
    });

    private static readonly Lazy<TinyModel> s_plain = new(() =>
    {
        string gguf = s_dir.Value.File("plain.f32.gguf");
        LlamaGgufConverter.Convert(new LlamaConversionRequest(s_hf.Value, gguf, LlamaFileType.F32) { Threads = 1 });
        return new TinyModel(s_hf.Value, gguf, new ReferenceLlama(s_hf.Value));
    });

    private static readonly Lazy<TinyModel> s_avsr = new(() =>
    {
        string ckpt = s_dir.Value.File("avsr.safetensors"), train = s_dir.Value.File("train.json"), gguf = s_dir.Value.File("avsr.f32.gguf");
        TinyLlamaGenerator.WriteAvsrCheckpoint(ckpt, Spec, reduction: 32, alpha: 4, trainConfig: train);
        LlamaGgufConverter.Convert(new LlamaConversionRequest(s_hf.Value, gguf, LlamaFileType.F32) { CheckpointPath = ckpt, TrainConfigPath = train,
            Threads = 1 });
        return new TinyModel(s_hf.Value, gguf, new ReferenceLlama(s_hf.Value, ckpt, train));
    });

    private static readonly Lazy<TinyModel> s_peft = new(() =>
    {
        var lora = TinyLlamaGenerator.WriteLora(s_dir.Value.File("lora"), Spec);
        string gguf = s_dir.Value.File("peft.f32.gguf");
        LlamaGgufConverter.Convert(new LlamaConversionRequest(s_hf.Value, gguf, LlamaFileType.F32) { LoraDirectory = lora.PeftDirectory, Threads = 1 });
        return new TinyModel(s_hf.Value, gguf, new ReferenceLlama(s_hf.Value, peftDir: lora.PeftDirectory));
    });

    /// <summary>The base model with a PEFT LoRA adapter merged.</summary>
    public static TinyModel Peft => s_peft.Value;

    /// <summary>The AVSR decoder: checkpoint weights, added tokens, LoRA merged.</summary>
    public static TinyModel Base => s_avsr.Value;

    /// <summary>The base model alone (no AVSR tokens, no LoRA).</summary>
    public static TinyModel Plain => s_plain.Value;

    public static string PlainGguf => Plain.F32Gguf;
}
