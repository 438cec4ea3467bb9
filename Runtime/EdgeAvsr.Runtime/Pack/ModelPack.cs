using System.Security.Cryptography;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Encoders;
using EdgeAvsr.Runtime.Formats.Gguf;
using EdgeAvsr.Runtime.Onnx;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Runtime.Pack;

/// <summary>How to open a pack.</summary>
public sealed record ModelPackOptions
{
    /// <summary>Recompute every file's SHA-256 and compare it with the manifest (reads every byte).</summary>
    public bool VerifyHashes { get; init; }

    /// <summary>Execution providers for the encoders instead of the manifest's preference.</summary>
    public IReadOnlyList<ExecutionProvider>? EncoderProviders { get; init; }

    /// <summary>Load llama.cpp and report the devices the decoder would run on (auto: CUDA when a GPU device is registered, else CPU).</summary>
    public bool ResolveDecoderBackend { get; init; }

    /// <summary>Receives the execution-provider decisions of the encoder sessions.</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>Where one component would run, as found while opening the pack.</summary>
public sealed record PackPlacement(string Part, string File, long Bytes, string Where);

/// <summary>
/// An opened model pack: the manifest read, every file present with the recorded size (and SHA-256 when asked),
/// and the pieces checked against each other through the files themselves: each encoder's input and output names
/// and output width (from the ONNX session) against the manifest and the projector's input width; the projector's
/// layout, experts, top-k, pooling, widths and precision (from the file) against the manifest; its output width
/// against the GGUF's <c>llama.embedding_length</c>; the special-token ids against the GGUF vocabulary.
/// A mismatch is an <see cref="EdgeAvsrException"/> naming the part.
/// </summary>
public sealed class ModelPack
{
    private ModelPack(string directory, PackManifest manifest, IReadOnlyList<PackPlacement> placements)
    {
        Directory = directory;
        Manifest = manifest;
        Placements = placements;
    }

    public string Directory { get; }

    public PackManifest Manifest { get; }

    public IReadOnlyList<PackPlacement> Placements { get; }

    public string PathOf(string relative) => Path.Combine(Directory, relative);

    public static ModelPack Open(string directory, ModelPackOptions? options = null) => Open(directory, options, keep: null);

    /// <summary>
    /// Opens and checks the pack as <see cref="Open(string, ModelPackOptions?)"/>; with <paramref name="keep"/>, the encoder
    /// sessions and the projector built for the checks stay open in it (with its thread count) instead of being thrown away,
    /// so loading for inference reads each file once.
    /// </summary>
    internal static ModelPack Open(string directory, ModelPackOptions? options, PackComponents? keep)
    {
        ArgumentNullException.ThrowIfNull(directory);
        options ??= new ModelPackOptions();
        if (!System.IO.Directory.Exists(directory))
        {
            throw new EdgeAvsrException($"{directory}: no such model pack folder");
        }
        string manifestPath = Path.Combine(directory, PackManifest.FileName);
        var m = PackManifestJson.Read(manifestPath);
        CheckFiles(directory, m, options.VerifyHashes);
        var placements = new List<PackPlacement>();
        long Size(string file) => m.Files.First(f => f.Path == file).Bytes;

        var projector = CheckProjector(directory, m, keep);
        foreach (var modality in new[] { Modality.Audio, Modality.Video })
        {
            if (m.Encoder(modality) is { } enc)
            {
                string where = CheckEncoder(directory, m, modality, enc, options, keep);
                placements.Add(new PackPlacement($"{modality.ToText()} encoder", enc.File, Size(enc.File), where));
            }
        }
        placements.Add(new PackPlacement("projector", m.Projector.File, Size(m.Projector.File), $"CPU, {m.Projector.Precision.ToText()} kernel {projector}"));
        var hp = CheckDecoder(directory, m);
        string backend = "";
        if (options.ResolveDecoderBackend)
        {
            LlamaEngine.Initialize();
            backend = $" on {LlamaEngine.ChooseBackend(LlamaBackendKind.Auto)}";
        }
        placements.Add(new PackPlacement("decoder", m.Decoder.File, Size(m.Decoder.File),
            $"llama.cpp{backend}, {m.Decoder.Type}, {hp.BlockCount} layers, d={hp.EmbeddingLength}, vocabulary {hp.VocabSize}"));
        return new ModelPack(Path.GetFullPath(directory), m, placements);
    }

    /// <summary>SHA-256 of a file as 64 lowercase hex digits.</summary>
    public static string Sha256(string path)
    {
        using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(SHA256.HashData(s));
    }

    /// <summary>The <see cref="PackFile"/> entry (size and SHA-256) of <paramref name="relative"/> inside <paramref name="directory"/>.</summary>
    public static PackFile Describe(string directory, string relative)
    {
        string path = Path.Combine(directory, relative);
        if (!File.Exists(path))
        {
            throw new EdgeAvsrException($"{path}: no such file");
        }
        return new PackFile(relative, new FileInfo(path).Length, Sha256(path));
    }

    private static void CheckFiles(string directory, PackManifest m, bool verify)
    {
        foreach (var f in m.Files)
        {
            string path = Path.Combine(directory, f.Path);
            if (!File.Exists(path))
            {
                throw new EdgeAvsrException($"{path}: missing; the pack's manifest lists it ({f.Bytes} bytes)");
            }
            long size = new FileInfo(path).Length;
            if (size != f.Bytes)
            {
                throw new EdgeAvsrException($"{path}: {size} bytes, the manifest records {f.Bytes}; the file was changed or truncated");
            }
            if (verify)
            {
                string sha = Sha256(path);
                if (sha != f.Sha256)
                {
                    throw new EdgeAvsrException($"{path}: SHA-256 {sha} does not match the manifest's {f.Sha256}; the file was changed or corrupted");
                }
            }
        }
    }

    private static string CheckProjector(string directory, PackManifest m, PackComponents? keep)
    {
        var p = m.Projector;
        string path = Path.Combine(directory, p.File);
        var w = SmopWeights.Load(path, p.Layout);
        string where = $"{path}: projector";
        if (w.IsInt8 != (p.Precision == ProjectorPrecision.Int8))
        {
            throw new EdgeAvsrException($"{where} is {(w.IsInt8 ? "an INT8 projector file" : "a float state dict")}, the manifest says precision {p.Precision.ToText()}");
        }
        if (w.Layout != p.Layout)
        {
            throw new EdgeAvsrException($"{where} layout is {w.Layout.ToText()}, the manifest says {p.Layout.ToText()}");
        }
        var any = (w.Audio ?? w.Video)!;
        Expect(where, "experts", any.ExpertCount, p.Experts);
        Expect(where, "hidden width", any.Experts[0].HiddenDim, p.HiddenDim);
        Expect(where, "output width (d_llm)", any.OutputDim, p.OutputDim);
        if (w.IsInt8)
        {
            Expect(where, "top_k (file metadata)", w.TopK!.Value, p.TopK);
            Expect(where, "audio_pool (file metadata)", w.AudioPool!.Value, p.AudioPool);
            Expect(where, "video_pool (file metadata)", w.VideoPool!.Value, p.VideoPool);
        }
        foreach (var modality in new[] { Modality.Audio, Modality.Video })
        {
            int? actual = w.For(modality)?.InputDim;
            int? expected = p.InputDim(modality);
            if (actual != expected)
            {
                string name = modality.ToText();
                throw new EdgeAvsrException($"{where} {name} input width is {(actual is null ? $"absent (no {name} mixture)" : $"D={actual}")}, the manifest says {(expected is null ? "none" : $"D={expected}")}");
            }
        }
        var projector = SmopProjector.Create(w, new SmopOptions { TopK = p.TopK, AudioPool = p.AudioPool, VideoPool = p.VideoPool, Precision = p.Precision, Threads = keep?.Threads ?? 1 });
        if (keep is not null)
        {
            keep.Projector = projector;
        }
        return projector.KernelName;
    }

    private static string CheckEncoder(string directory, PackManifest m, Modality modality, PackEncoder e, ModelPackOptions options, PackComponents? keep)
    {
        string path = Path.Combine(directory, e.File);
        string part = $"{path}: {modality.ToText()} encoder";
        var log = new List<string>();
        EncoderSession? session = EncoderSession.Open(path, new OnnxSessionOptions
        {
            Providers = options.EncoderProviders ?? e.ExecutionProviders,
            IntraOpThreads = keep?.Threads ?? 1,
            Log = line =>
            {
                log.Add(line);
                options.Log?.Invoke(line);
            },
        });
        try
        {
            var kind = modality == Modality.Audio ? EncoderKind.Audio : EncoderKind.Video;
            if (session.Kind != kind)
            {
                throw new EdgeAvsrException($"{part} file is a {session.Kind.ToString().ToLowerInvariant()} encoder (input {session.Input.Describe()})");
            }
            if (session.Input.Name != e.InputName)
            {
                throw new EdgeAvsrException($"{part} input is '{session.Input.Name}', the manifest says '{e.InputName}'");
            }
            if (session.Output.Name != e.OutputName)
            {
                throw new EdgeAvsrException($"{part} output is '{session.Output.Name}', the manifest says '{e.OutputName}'");
            }
            long d = session.Output.Shape[^1];
            if (d < 0)
            {
                throw new EdgeAvsrException($"{part} output {session.Output.Describe()} has a symbolic width; the pack needs a fixed D to check it against the projector");
            }
            Expect(part, "output width", d, e.OutputDim);
            int projectorD = m.Projector.InputDim(modality) ?? throw new EdgeAvsrException($"{part} has no projector mixture to feed: the projector has no {modality.ToText()} experts");
            if (d != projectorD)
            {
                throw new EdgeAvsrException($"{part} output width D={d} does not equal the projector's {modality.ToText()} input width D={projectorD}");
            }
            string where = $"ONNX Runtime, {session.Provider.ToText()} (preference {string.Join(",", e.ExecutionProviders.Select(x => x.ToText()))})";
            if (keep is not null)
            {
                keep.Keep(modality, session);
                session = null;
            }
            return where;
        }
        finally
        {
            session?.Dispose();
        }
    }

    private static LlamaHyperparameters CheckDecoder(string directory, PackManifest m)
    {
        string path = Path.Combine(directory, m.Decoder.File);
        using var file = GgufFile.Open(path);
        var hp = LlamaGgufValidator.Validate(file);
        string part = $"{path}: decoder";
        Expect(part, "llama.embedding_length", hp.EmbeddingLength, m.Decoder.EmbeddingDim);
        if (hp.EmbeddingLength != m.Projector.OutputDim)
        {
            throw new EdgeAvsrException($"{part} embedding width llama.embedding_length={hp.EmbeddingLength} does not equal the projector's output width d_llm={m.Projector.OutputDim}");
        }
        string[]? tokens = file.Find("tokenizer.ggml.tokens") is { IsArray: true } t ? t.AsArray<string>() : null;
        int[] ids = m.SpecialTokens.Ids;
        for (int i = 0; i < ids.Length; i++)
        {
            var (text, key, metadataKey) = AvsrSpecialTokens.Table[i];
            int id = ids[i];
            if ((uint)id >= (uint)hp.VocabSize)
            {
                throw new EdgeAvsrException($"{part} special token {key} ({text}) id {id} is outside the vocabulary of {hp.VocabSize} tokens");
            }
            if (tokens is not null && id < tokens.Length && tokens[id] != text)
            {
                throw new EdgeAvsrException($"{part} special token {key}: id {id} is '{tokens[id]}' in the vocabulary, the manifest expects '{text}'");
            }
            if (file.Find(metadataKey) is { IsArray: false } v && v.Value is IConvertible c
                && c.ToInt64(System.Globalization.CultureInfo.InvariantCulture) != id)
            {
                throw new EdgeAvsrException($"{part} metadata {metadataKey} = {v.Value}, the manifest says {id}");
            }
        }
        return hp;
    }

    private static void Expect(string part, string what, long actual, long expected)
    {
        if (actual != expected)
        {
            throw new EdgeAvsrException($"{part} {what} is {actual}, the manifest says {expected}");
        }
    }
}

/// <summary>The encoder sessions and projector <see cref="ModelPack.Open(string, ModelPackOptions?, PackComponents?)"/> built while checking a pack, kept for inference.</summary>
internal sealed class PackComponents(int threads) : IDisposable
{
    /// <summary>ONNX Runtime intra-op threads and projector threads (0: one per core).</summary>
    public int Threads { get; } = threads;

    public EncoderSession? AudioEncoder { get; private set; }

    public EncoderSession? VideoEncoder { get; private set; }

    public SmopProjector? Projector { get; set; }

    public void Keep(Modality modality, EncoderSession session)
    {
        if (modality == Modality.Audio)
        {
            AudioEncoder = session;
        }
        else
        {
            VideoEncoder = session;
        }
    }

    public void Dispose()
    {
        AudioEncoder?.Dispose();
        VideoEncoder?.Dispose();
    }
}
