using System.Buffers.Binary;
using EdgeAvsr.Quantize.Conversion;
using EdgeAvsr.Quantize.Gguf;
using EdgeAvsr.Quantize.Onnx;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Formats.Gguf;
using EdgeAvsr.Runtime.Onnx;
using EdgeAvsr.Runtime.Pack;
using EdgeAvsr.Runtime.Projector;
using EdgeAvsr.Synthetic;

namespace EdgeAvsr.Fuzz;

/// <summary>
/// The seed files of every target, small and valid, made by the project's own writers and generators (fixed seeds):
/// <c>edgeavsr-fuzz seed fuzz/corpus</c> writes <c>fuzz/corpus/TARGET/*</c>, which is committed.
/// </summary>
public static class SeedCorpus
{
    /// <summary>The smallest Llama the generator makes that the converter and the validator accept.</summary>
    private static readonly TinyLlamaSpec s_llama = new() { Seed = 11, HiddenSize = 8, Heads = 2, KvHeads = 1, IntermediateSize = 16, Layers = 1,
        Merges = 16, MaxPositionEmbeddings = 64 };

    public static void Write(string root)
    {
        string Dir(string target)
        {
            string d = Path.Combine(root, target);
            Directory.CreateDirectory(d);
            return d;
        }

        var st = new SafetensorsWriter();
        st.SetMetadata("format", "pt");
        st.AddFloat32("a.weight", [2, 3], [1, -2, 3.5f, 0, 1e-3f, -7]);
        st.Add("h", TensorDType.F16, [2], [.. BitConverter.GetBytes((Half)1.5f), .. BitConverter.GetBytes((Half)(-2f))]);
        st.Add("b", TensorDType.BF16, [1], BitConverter.GetBytes(TensorDTypes.SingleToBFloat16(3.25f)));
        st.AddInt8("q", [3], [-128, 0, 127]);
        st.Write(Path.Combine(Dir("safetensors"), "mixed.safetensors"));
        new SafetensorsWriter().Write(Path.Combine(Dir("safetensors"), "empty.safetensors"));

        NpyFile.Write(Path.Combine(Dir("npy"), "features.npy"), [1f, 2, 3, 4, 5, 6], 2, 3);
        NpyFile.Write(Path.Combine(Dir("npy"), "batch.npy"), [0.5f, -1, 2, 8], 1, 2, 2);
        NpyFile.Write(Path.Combine(Dir("npy"), "ids.npy"), [7, 8, 9], 3);

        // The smallest ModelProto to build on (ir_version 8, opset_import { "" 17 }, a graph named "g"), then one MatMul.
        var onnx = OnnxModelFile.Parse([0x08, 0x08, 0x42, 0x02, 0x10, 0x11, 0x3A, 0x03, 0x12, 0x01, 0x67], "seed.onnx");
        onnx.Graph.Inputs.Add(OnnxValueInfo.Tensor("x", OnnxElementType.Float));
        onnx.Graph.Initializers.Add(OnnxInitializer.Create("w", OnnxElementType.Float, [2, 2],
            System.Runtime.InteropServices.MemoryMarshal.AsBytes<float>([1f, -2, 0.5f, 3])));
        onnx.Graph.Nodes.Add(OnnxNode.Create("MatMul", "mm", ["x", "w"], ["y"]));
        onnx.Graph.Outputs.Add(OnnxValueInfo.Tensor("y", OnnxElementType.Float));
        onnx.Write(Path.Combine(Dir("onnx"), "matmul.onnx"));

        string work = Path.Combine(Path.GetTempPath(), $"edgeavsr-fuzz-seed-{Environment.ProcessId}");
        Directory.CreateDirectory(work);
        try
        {
            string hf = Path.Combine(work, "hf");
            TinyLlamaGenerator.WriteModel(hf, s_llama);
            LlamaGgufConverter.Convert(new LlamaConversionRequest(hf, Path.Combine(Dir("gguf"), "tiny-llama.gguf"), LlamaFileType.F32) { Threads = 1 });
            File.Copy(Path.Combine(hf, "tokenizer.json"), Path.Combine(Dir("tokenizer"), "tokenizer.json"));
            var small = new GgufWriter();
            small.SetString("general.architecture", "llama");
            small.SetUInt32("general.alignment", 32);
            small.Set("tokenizer.ggml.tokens", GgufValue.FromStrings(["a", "b"]));
            small.AddTensor("t", GgmlType.F32, [4]);
            small.Write(Path.Combine(Dir("gguf"), "small.gguf"), d => d.WriteTensor(new byte[16]));

            string fp32 = Path.Combine(work, "projector.fp32.safetensors");
            SyntheticProjector.Write(fp32, new SyntheticProjectorSpec { Layout = SmopLayout.Dedr, Experts = 2, AudioDim = 8, VideoDim = 8, HiddenDim = 8,
                OutputDim = 8, Seed = 5 });
            Int8ProjectorFile.Write(Path.Combine(Dir("int8-projector"), "projector.int8.safetensors"), SmopWeights.Load(fp32, SmopLayout.Dedr),
                RoutingSettings.Create(1, 4, 2));

            SyntheticCheckpoint.TrainConfigFor(SyntheticCheckpointSpec.Tiny()).Write(Path.Combine(Dir("train-config"), "train_config.json"));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }

        File.WriteAllBytes(Path.Combine(Dir("manifest"), "manifest.json"), PackManifestJson.ToUtf8(Manifest()));
        File.WriteAllBytes(Path.Combine(Dir("wav"), "pcm16-mono.wav"), Wav(1, 16000, 16, 1, [.. Enumerable.Range(0, 64).Select(i => (byte)(i * 7))]));
        File.WriteAllBytes(Path.Combine(Dir("wav"), "float-stereo.wav"), Wav(3, 8000, 32, 2, new byte[64]));
        File.WriteAllText(Path.Combine(Dir("captions"), "three.txt"), "hello edge device\u0001captions on\na kiosk\u0001a --> b");
    }

    /// <summary>tokenizer_config.json and config.json of the seed's tokenizer in <paramref name="directory"/>; returns its vocabulary size.</summary>
    public static int TokenizerFiles(string directory) => TinyLlamaGenerator.WriteTokenizerFiles(directory, s_llama);

    private static PackManifest Manifest()
    {
        const string sha = "0000000000000000000000000000000000000000000000000000000000000000";
        string[] files = ["audio_encoder.onnx", "video_encoder.onnx", "projector.safetensors", "decoder.gguf"];
        return new PackManifest
        {
            Name = "seed",
            Tasks = [AvsrTask.Asr, AvsrTask.Vsr, AvsrTask.Avsr],
            AudioEncoder = new PackEncoder { File = files[0], InputName = "input_features", OutputName = "last_hidden_state", OutputDim = 8,
                ExecutionProviders = [ExecutionProvider.Cpu] },
            VideoEncoder = new PackEncoder { File = files[1], InputName = "video", OutputName = "last_hidden_state", OutputDim = 8,
                ExecutionProviders = [ExecutionProvider.TensorRt, ExecutionProvider.Cpu] },
            Projector = new PackProjector
            {
                File = files[2], Precision = ProjectorPrecision.Int8, Layout = SmopLayout.Dedr, Experts = 2, Routing = RoutingSettings.Create(1, 4, 2),
                AudioInputDim = 8, VideoInputDim = 8, HiddenDim = 8, OutputDim = 8,
            },
            Decoder = new PackDecoder { File = files[3], Type = "f32", EmbeddingDim = 8, LoraReduction = 32, LoraAlpha = 4 },
            FrontEnd = new PackFrontEnd { SampleRate = 16000, WaveformNormalization = true, MelBins = 80, MelFrames = 3000, VideoFps = 25, CropSize = 96,
                RoiSize = 88, RoiMean = 0.421, RoiStd = 0.165 },
            Prompts = new Dictionary<AvsrTask, string> { [AvsrTask.Asr] = "a", [AvsrTask.Vsr] = "v", [AvsrTask.Avsr] = "av" },
            SpecialTokens = new AvsrSpecialTokens(300, 301, 302, 303, 304),
            Decoding = new PackDecoding { Beams = 2, MaxNewTokens = 8 },
            Files = [.. files.Select((f, i) => new PackFile(f, 100 + i, sha))],
        };
    }

    /// <summary>A canonical 44-byte-header WAV: format tag 1 (PCM) or 3 (float).</summary>
    private static byte[] Wav(short formatTag, int rate, short bits, short channels, byte[] data)
    {
        var b = new byte[44 + data.Length];
        "RIFF"u8.CopyTo(b);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4), 36 + data.Length);
        "WAVEfmt "u8.CopyTo(b.AsSpan(8));
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(16), 16);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(20), formatTag);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(22), channels);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(24), rate);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(28), rate * channels * bits / 8);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(32), (short)(channels * bits / 8));
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(34), bits);
        "data"u8.CopyTo(b.AsSpan(36));
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(40), data.Length);
        data.CopyTo(b.AsSpan(44));
        return b;
    }
}
