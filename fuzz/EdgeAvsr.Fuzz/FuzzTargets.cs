using EdgeAvsr.Quantize.Hf;
using EdgeAvsr.Quantize.Onnx;
using EdgeAvsr.Quantize.Pack;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Audio;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Formats.Gguf;
using EdgeAvsr.Runtime.Onnx;
using EdgeAvsr.Runtime.Pack;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Fuzz;

/// <summary>
/// One harness per parser of user files, each taking the fuzzer's bytes as the whole file. A harness lets only
/// <see cref="EdgeAvsrException"/> (the user's error) pass quietly: any other exception is a finding, and so is a run
/// over 1 s or over 2 GB (afl-fuzz's -t and the GC heap limit ./build.sh fuzz sets).
/// </summary>
public static class FuzzTargets
{
    /// <summary>The bytes a harness reads a tensor's data in, at most (the rest of a large tensor is not read).</summary>
    private const long MaxTensorBytesRead = 1 << 20;

    private static readonly Lazy<string> s_scratch = new(() =>
    {
        string root = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        string dir = Path.Combine(root, $"edgeavsr-fuzz-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(dir, recursive: true);
        return dir;
    });

    private static readonly Lazy<(string Directory, int VocabSize)> s_tokenizerDir = new(() =>
    {
        string dir = Path.Combine(s_scratch.Value, "tokenizer");
        int vocab = SeedCorpus.TokenizerFiles(dir);
        return (dir, vocab);
    });

    /// <summary>Every harness by name (the argument of <c>edgeavsr-fuzz run</c> and of <c>./build.sh fuzz</c>).</summary>
    public static IReadOnlyDictionary<string, Action<byte[]>> All { get; } = new SortedDictionary<string, Action<byte[]>>(StringComparer.Ordinal)
    {
        ["safetensors"] = Safetensors,
        ["npy"] = Npy,
        ["onnx"] = Onnx,
        ["gguf"] = Gguf,
        ["wav"] = Wav,
        ["manifest"] = Manifest,
        ["int8-projector"] = Int8Projector,
        ["tokenizer"] = Tokenizer,
        ["train-config"] = TrainConfigFile,
        ["captions"] = CaptionRoundTrip.Run,
    };

    /// <summary>Runs <paramref name="target"/> on <paramref name="input"/>; true when the input was accepted, false when refused.</summary>
    public static bool Run(string target, byte[] input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (!All.TryGetValue(target, out var harness))
        {
            throw new ArgumentException($"unknown fuzz target '{target}'; the targets are {string.Join(", ", All.Keys)}", nameof(target));
        }
        try
        {
            harness(input);
            return true;
        }
        catch (EdgeAvsrException)
        {
            return false;
        }
    }

    private static string Scratch(string name, byte[] input)
    {
        string path = Path.Combine(s_scratch.Value, name);
        File.WriteAllBytes(path, input);
        return path;
    }

    private static void Safetensors(byte[] input)
    {
        using var file = SafetensorsFile.Open(Scratch("input.safetensors", input));
        _ = file.Metadata.Count;
        foreach (var t in file.Tensors.Values.Where(t => t.ByteLength <= MaxTensorBytesRead))
        {
            if (t.DType is TensorDType.F32 or TensorDType.F16 or TensorDType.BF16 or TensorDType.F64)
            {
                _ = file.ReadFloat32(t);
            }
            else if (t.DType == TensorDType.I8)
            {
                _ = file.ReadInt8(t.Name, t.Shape);
            }
            else
            {
                _ = file.ReadRaw(t);
            }
        }
    }

    private static void Npy(byte[] input)
    {
        string path = Scratch("input.npy", input);
        // Each reader on its own: a refusal by one must not hide a crash in the next.
        foreach (var read in new Action[] { () => NpyFile.ReadFloat32(path), () => NpyFile.ReadInt32(path), () => NpyFeatures.Read(path) })
        {
            try
            {
                read();
            }
            catch (EdgeAvsrException)
            {
            }
        }
    }

    private static void Gguf(byte[] input)
    {
        string path = Scratch("input.gguf", input);
        using (var file = GgufFile.Open(path))
        {
            foreach (var t in file.Tensors.Where(t => t.ByteSize <= MaxTensorBytesRead))
            {
                _ = file.ReadTensor(t);
            }
            foreach (var (_, value) in file.Metadata)
            {
                _ = value.ToString();
            }
        }
        // The checks that stand between a file and llama.cpp's aborts.
        _ = LlamaGgufValidator.Validate(path);
    }

    private static void Wav(byte[] input) => _ = WavReader.TryRead(Scratch("input.wav", input), out _, out _);

    private static void Manifest(byte[] input) => _ = PackManifestJson.Parse(input, "manifest.json");

    private static void Int8Projector(byte[] input)
    {
        string path = Scratch("projector.int8.safetensors", input);
        var weights = SmopWeights.Load(path, null);
        _ = weights.Routing;
    }

    private static void Tokenizer(byte[] input)
    {
        var (dir, vocab) = s_tokenizerDir.Value;
        File.WriteAllBytes(Path.Combine(dir, "tokenizer.json"), input);
        var tokenizer = HfTokenizer.Load(dir, vocab);
        _ = tokenizer.Tokens.Count;
    }

    private static void Onnx(byte[] input)
    {
        // What `edgeavsr-quantize encoder` does with a model before it rewrites it: parse, read the float weights, write back.
        var model = OnnxModelFile.Parse(input, "model.onnx");
        _ = model.OnnxOpset;
        foreach (var initializer in model.Graph.Initializers)
        {
            if (initializer is { DataType: OnnxElementType.Float, IsExternal: false, ElementCount: >= 0 and <= MaxTensorBytesRead / sizeof(float) })
            {
                _ = initializer.ReadFloats();
            }
        }
        byte[] written = model.ToBytes();
        byte[] again = OnnxModelFile.Parse(written, "model.onnx (written)").ToBytes();
        if (!written.AsSpan().SequenceEqual(again))
        {
            throw new InvalidOperationException($"the model written back ({written.Length} bytes) changed when read and written again ({again.Length} bytes)");
        }
    }

    private static void TrainConfigFile(byte[] input)
    {
        var config = TrainConfig.Read(Scratch("train_config.json", input));
        _ = config.Tasks.Count;
    }
}
