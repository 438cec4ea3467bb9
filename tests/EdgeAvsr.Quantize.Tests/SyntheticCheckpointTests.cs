using EdgeAvsr.Quantize.Conversion;
using EdgeAvsr.Quantize.Hf;
using EdgeAvsr.Quantize.Pack;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Formats.Gguf;
using EdgeAvsr.Runtime.Projector;
using EdgeAvsr.Synthetic;

namespace EdgeAvsr.Quantize.Tests;

/// <summary>
/// The tiny synthetic Llama-SMoP checkpoint, made once per test process (deleted at exit) and shared by the classes
/// that read it: tiny encoders exported with their weights saved (Models/encoders/export_encoder.py), then
/// <see cref="SyntheticCheckpoint.Write"/> with the base HF directory. Tests only read its files; what they write goes
/// into their own folders.
/// </summary>
public sealed class SyntheticCheckpointFixture
{
    private static readonly Lazy<SyntheticCheckpointFixture> s_shared = new(() => new SyntheticCheckpointFixture());

    private readonly TempDir _dir = new();

    public static SyntheticCheckpointFixture Shared => s_shared.Value;

    private SyntheticCheckpointFixture()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => _dir.Dispose();
        var rng = new Random(17);
        NpyFile.Write(File("mel.npy"), Enumerable.Range(0, 80 * 3000).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray(), 80, 3000);
        NpyFile.Write(File("roi.npy"), Enumerable.Range(0, 5 * 88 * 88).Select(_ => (float)((rng.NextDouble() - 0.421) / 0.165)).ToArray(), 5, 88, 88);
        Export("whisper", "3", File("audio.onnx"), "--save-weights", File("audio.safetensors"), "--check-input", File("mel.npy"), "--check-output",
            File("audio_ref.npy"));
        Export("avhubert", "4", File("video.onnx"), "--save-weights", File("video.safetensors"), "--check-input", File("roi.npy"), "--check-output",
            File("video_ref.npy"));
        Spec = SyntheticCheckpointSpec.Tiny() with { AudioEncoderWeights = File("audio.safetensors"), VideoEncoderWeights = File("video.safetensors") };
        SyntheticCheckpoint.Write(Checkpoint, Spec, Hf);
        SyntheticCheckpoint.TrainConfigFor(Spec).Write(TrainConfigPath);
    }

    public SyntheticCheckpointSpec Spec { get; }

    public string Checkpoint => File("ckpt.safetensors");

    public string TrainConfigPath => File("train.json");

    public string Hf => File("hf");

    public string File(string name) => _dir.File(name);

    public static void Export(string arch, string seed, string onnx, params string[] more) =>
        Python.Script("Models/encoders/export_encoder.py",
            ["export", "--arch", arch, .. (seed.Length > 0 ? new[] { "--size", "tiny", "--seed", seed } : []), "--out", onnx, .. more]);
}

public sealed class SyntheticCheckpointTests
{
    private readonly SyntheticCheckpointFixture f = SyntheticCheckpointFixture.Shared;

    [Fact]
    public void Checkpoint_HasTheAuthorsKeyLayout()
    {
        using var ckpt = SafetensorsFile.Open(f.Checkpoint);
        var spec = f.Spec;
        var (vocab, _) = TinyLlamaGenerator.BuildVocabulary(spec.Llama);
        int rows = vocab.Count + TinyLlamaGenerator.SpecialTokens.Length + 5;
        Assert.Equal([rows, spec.Llama.HiddenSize], ckpt.Get("llm.model.embed_tokens.weight").Shape);
        int rank = spec.Llama.HiddenSize / spec.Rank;
        for (int i = 0; i < spec.Llama.Layers; i++)
        {
            Assert.Equal([rank, spec.Llama.HiddenSize], ckpt.Get($"llm.model.layers.{i}.self_attn.lora_down_Q.weight").Shape);
            Assert.Equal([spec.Llama.KvWidth, rank], ckpt.Get($"llm.model.layers.{i}.self_attn.lora_up_V.weight").Shape);
        }
        Assert.Equal([spec.Experts, spec.AudioDim], ckpt.Get("audio_proj.gate.weight").Shape);
        Assert.Equal([spec.IntermediateSize, spec.VideoDim], ckpt.Get($"video_proj.experts.{spec.Experts - 1}.0.weight").Shape);
        Assert.Equal([spec.Llama.HiddenSize], ckpt.Get("video_proj.experts.0.3.weight").Shape);
        // No stray keys: every key belongs to one of the four parts.
        Assert.All(ckpt.Tensors.Keys, k => Assert.True(
            k.StartsWith("llm.", StringComparison.Ordinal) || k.StartsWith("audio_proj.", StringComparison.Ordinal)
                || k.StartsWith("video_proj.", StringComparison.Ordinal)
            || k.StartsWith("audio_encoder.", StringComparison.Ordinal) || k.StartsWith("video_encoder.", StringComparison.Ordinal), k));
        // The encoder tensors are the exporter's, byte for byte.
        foreach (string enc in new[] { "audio", "video" })
        {
            using var src = SafetensorsFile.Open(f.File(enc + ".safetensors"));
            Assert.Equal(src.Tensors.Count, ckpt.Tensors.Keys.Count(k => k.StartsWith(enc + "_encoder.", StringComparison.Ordinal)));
            foreach (var t in src.Tensors.Values)
            {
                Assert.Equal(src.ReadRaw(t), ckpt.ReadRaw(ckpt.Get(t.Name)));
            }
        }
    }

    [Fact]
    public void Projector_LoadsFromTheCheckpoint_AsTheRuntimeReadsIt()
    {
        var w = SmopWeights.Load(f.Checkpoint, SmopLayout.Dedr);
        Assert.Equal(4, w.Audio!.ExpertCount);
        Assert.Equal(64, w.Video!.InputDim);
        Assert.Equal(f.Spec.Llama.HiddenSize, w.Audio.OutputDim);
    }

    [Theory]
    [InlineData("whisper", "mel.npy", "audio_ref.npy")]
    [InlineData("avhubert", "roi.npy", "video_ref.npy")]
    public void Encoders_ExportFromTheCheckpoint_ToTheSameOutputs(string arch, string input, string reference)
    {
        using var dir = new TempDir();
        string output = dir.File(arch + "_from_ckpt.npy");
        SyntheticCheckpointFixture.Export(arch, "", dir.File(arch + "_from_ckpt.onnx"), "--checkpoint", f.Checkpoint, "--check-input", f.File(input),
            "--check-output", output);
        Assert.Equal(NpyFile.ReadFloat32(f.File(reference)).Data, NpyFile.ReadFloat32(output).Data);
    }

    [Fact]
    public void Llm_ConvertsWithTheTrainConfig_AddedTokensAndLoraMerged()
    {
        using var dir = new TempDir();
        string gguf = dir.File("d.gguf");
        LlamaGgufConverter.Convert(new LlamaConversionRequest(f.Hf, gguf, LlamaFileType.F32) { CheckpointPath = f.Checkpoint,
            TrainConfigPath = f.TrainConfigPath, Threads = 1 });
        using var file = GgufFile.Open(gguf);
        Assert.NotNull(file.Find("edgeavsr.video_end_token_id"));
        Assert.Equal(f.Spec.Llama.HiddenSize, (int)(uint)file.Find("llama.embedding_length")!.Value);
    }

    [Fact]
    public void TrainConfig_RoundTrips_AndAMissingArgumentIsNamed()
    {
        var read = TrainConfig.Read(f.TrainConfigPath);
        Assert.Equal(SyntheticCheckpoint.TrainConfigFor(f.Spec), read);
        Assert.Equal(LoraMerge.ReadTrainConfig(f.TrainConfigPath), (f.Spec.Rank, f.Spec.Alpha));
        using var dir = new TempDir();
        string broken = dir.File("t.json");
        File.WriteAllText(broken, File.ReadAllText(f.TrainConfigPath).Replace("\"MoP-topk\": 2,", "", StringComparison.Ordinal));
        var e = Assert.Throws<EdgeAvsrException>(() => TrainConfig.Read(broken));
        Assert.Contains("training argument 'MoP-topk' is missing", e.Message, StringComparison.Ordinal);
    }
}

/// <summary>
/// The 1B size is generated only by the end-to-end benchmark (tools/bench-e2e); here its spec is checked against the
/// released model's numbers without generating weights, and its real-size vocabulary against llama.cpp on a model
/// of tiny widths.
/// </summary>
public sealed class OneBSyntheticCheckpointTests
{
    [Fact]
    public void OneBSpec_HasTheReleasedLlamaSmop1BShapes()
    {
        var spec = SyntheticCheckpointSpec.OneB(seed: 7);
        var l = spec.Llama;
        // Llama-3.2-1B's config.json.
        Assert.Equal((2048, 16, 32, 8, 64, 8192), (l.HiddenSize, l.Layers, l.Heads, l.KvHeads, l.HeadDim, l.IntermediateSize));
        Assert.Equal((500000.0, 131072, true, true), (l.RopeTheta, l.MaxPositionEmbeddings, l.TieWordEmbeddings, l.Llama3RopeScaling));
        Assert.Equal(128256, TinyLlamaGenerator.VocabSizeOf(l));
        long baseParameters = TinyLlamaGenerator.TensorShapes(l, 128256).Sum(t => t.Shape.Aggregate(1L, (a, b) => a * b));
        Assert.Equal(1_235_814_400L, baseParameters); // Llama-3.2-1B's parameter count

        // The checkpoint's LLM part: embedding and head grown by the 5 AVSR tokens, LoRA at the 1B recipe.
        var w = new SafetensorsStreamWriter();
        TinyLlamaGenerator.AddAvsrLlmTensors(w, l, spec.Rank, 1.0, TensorDType.BF16);
        var declared = w.Declared.ToDictionary(t => t.Name, t => t.Shape);
        Assert.Equal([128261, 2048], declared["llm.model.embed_tokens.weight"]);
        Assert.Equal([128261, 2048], declared["llm.lm_head.weight"]);
        Assert.Equal([64, 2048], declared["llm.model.layers.15.self_attn.lora_down_Q.weight"]);
        Assert.Equal([2048, 64], declared["llm.model.layers.15.self_attn.lora_up_Q.weight"]);
        Assert.Equal([512, 64], declared["llm.model.layers.0.self_attn.lora_up_V.weight"]); // hidden // 4
        Assert.Equal(16 * 4, declared.Keys.Count(k => k.Contains(".lora_", StringComparison.Ordinal)));
        Assert.All(w.Declared, t => Assert.Equal(TensorDType.BF16, t.DType));

        var config = SyntheticCheckpoint.TrainConfigFor(spec);
        Assert.Equal(("audiovisual", 32, 4.0, 4, 2), (config.Modality, config.Rank, config.Alpha, config.MopExperts, config.Routing.TopK));
        Assert.Equal((4, 2, 2048, SmopLayout.Dedr), (config.Routing.AudioPool, config.Routing.VideoPool, config.IntermediateSize, config.SmopLayout));
        Assert.Equal((1024, 1024), (spec.AudioDim, spec.VideoDim)); // Whisper-medium and AV-HuBERT Large widths
        Assert.Throws<EdgeAvsrException>(() => SyntheticCheckpointSpec.ForSize("3b", 7));
    }

    [Fact]
    public void OneBVocabulary_ConvertsAndTokenizesInLlamaCpp_AsAReferenceBpe()
    {
        using var dir = new TempDir();
        // The 1B tokenizer (128000 regular + 256 special tokens) on a model of tiny widths.
        var spec = TinyLlamaGenerator.Llama32OneB(seed: 31) with { HiddenSize = 64, Layers = 1, Heads = 2, KvHeads = 1, IntermediateSize = 128, Bf16 = false };
        string hf = dir.File("hf");
        Assert.Equal(128256, TinyLlamaGenerator.WriteModel(hf, spec));
        var config = HfLlamaConfig.Load(Path.Combine(hf, "config.json"));
        Assert.Equal((128000, 128001, 128256), (config.BosTokenId, config.EosTokenIds[0], config.VocabSize));
        var tokenizer = HfTokenizer.Load(hf, config.VocabSize);
        Assert.Equal(128000 - 256, tokenizer.Merges.Count); // every merge makes one of the regular tokens after the 256 bytes
        Assert.All(Enumerable.Range(0, 128000), i => Assert.Equal(GgufTokenType.Normal, tokenizer.TokenTypes[i]));
        Assert.All(Enumerable.Range(128000, 256), i => Assert.Equal(GgufTokenType.Control, tokenizer.TokenTypes[i]));

        string ckpt = dir.File("ckpt.safetensors"), train = dir.File("train.json");
        TinyLlamaGenerator.WriteAvsrCheckpoint(ckpt, spec, 32, 4, train);
        string gguf = dir.File("d.gguf");
        LlamaGgufConverter.Convert(new LlamaConversionRequest(hf, gguf, LlamaFileType.F32) { CheckpointPath = ckpt, TrainConfigPath = train, Threads = 1 });
        using (var file = GgufFile.Open(gguf))
        {
            Assert.Equal(128256u, (uint)file.Find("edgeavsr.pad_token_id")!.Value);
            Assert.Equal(128260u, (uint)file.Find("edgeavsr.video_end_token_id")!.Value);
        }
        Assert.Equal(128261, LlamaNative.TryLoad(gguf)!.Value.Vocab);

        // Text made of synthetic tokens, so the filler merges are exercised; llama.cpp must segment it as a plain
        // rank-ordered BPE (with Llama 3's ignore_merges) does.
        var (vocab, merges) = TinyLlamaGenerator.BuildVocabulary(spec);
        var rng = new Random(5);
        char space = ByteLevelBpe.ByteToChar((byte)' ');
        var words = Enumerable.Range(0, 40).Select(_ => vocab[rng.Next(100_000, 128_000)]).Where(t => t[0] == space).Select(t => " " + t[1..]).ToList();
        string text = "transcribe speech and video to text." + string.Concat(words);
        int[] expected = ReferenceBpe(text, vocab, merges);
        Assert.Contains(expected, id => id >= 100_000);
        Assert.Equal(expected, LlamaNative.Tokenize(gguf, text, addSpecial: false));
    }

    [Fact]
    public void StreamWriter_WritesTheBufferedWritersBytes_AndChecksEachTensorsLength()
    {
        using var dir = new TempDir();
        var rng = new Random(3);
        float[] a = Enumerable.Range(0, 3 * 5).Select(_ => (float)rng.NextDouble()).ToArray();
        float[] b = Enumerable.Range(0, (1 << 20) + 7).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var buffered = new SafetensorsWriter();
        buffered.SetMetadata("format", "pt");
        buffered.AddFloat32("a", [3, 5], a);
        var bf = b.Select(TensorDTypes.SingleToBFloat16).ToArray();
        buffered.Add("b", TensorDType.BF16, [b.Length], System.Runtime.InteropServices.MemoryMarshal.AsBytes(bf.AsSpan()));
        buffered.Write(dir.File("buffered.safetensors"));

        var streamed = new SafetensorsStreamWriter();
        streamed.SetMetadata("format", "pt");
        using (var source = SafetensorsFile.Open(dir.File("buffered.safetensors")))
        {
            streamed.AddCopy(source, source.Get("a"));
            streamed.AddFloat("b", TensorDType.BF16, [b.Length], () => b);
            streamed.Write(dir.File("streamed.safetensors"));
        }
        Assert.Equal(File.ReadAllBytes(dir.File("buffered.safetensors")), File.ReadAllBytes(dir.File("streamed.safetensors")));

        var wrong = new SafetensorsStreamWriter();
        wrong.AddFloat("c", TensorDType.F32, [4], () => new float[3]);
        var e = Assert.Throws<InvalidOperationException>(() => wrong.Write(dir.File("wrong.safetensors")));
        Assert.Contains("tensor 'c': 12 bytes written, 16 declared", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("wrong.safetensors")));
    }

    /// <summary>Byte-level BPE with Llama 3's ignore_merges: a piece that is a token stays whole; else the lowest-rank pair merges first.</summary>
    private static int[] ReferenceBpe(string text, List<string> vocab, List<string> merges)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < vocab.Count; i++)
        {
            ids.TryAdd(vocab[i], i);
        }
        var rank = new Dictionary<(string, string), int>();
        for (int i = 0; i < merges.Count; i++)
        {
            int sp = merges[i].IndexOf(' ', 1);
            rank.TryAdd((merges[i][..sp], merges[i][(sp + 1)..]), i);
        }
        var output = new List<int>();
        foreach (string piece in ByteLevelBpe.PreTokenize(text))
        {
            string word = ByteLevelBpe.ToByteLevel(piece);
            if (ids.TryGetValue(word, out int whole))
            {
                output.Add(whole);
                continue;
            }
            var symbols = word.Select(c => c.ToString()).ToList();
            while (true)
            {
                int best = -1, bestRank = int.MaxValue;
                for (int i = 0; i + 1 < symbols.Count; i++)
                {
                    if (rank.TryGetValue((symbols[i], symbols[i + 1]), out int r) && r < bestRank)
                    {
                        (best, bestRank) = (i, r);
                    }
                }
                if (best < 0)
                {
                    break;
                }
                symbols[best] += symbols[best + 1];
                symbols.RemoveAt(best + 1);
            }
            output.AddRange(symbols.Select(s => ids[s]));
        }
        return [.. output];
    }
}
