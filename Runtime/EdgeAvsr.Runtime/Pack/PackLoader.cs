using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Encoders;
using EdgeAvsr.Runtime.Formats.Gguf;
using EdgeAvsr.Runtime.Onnx;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Runtime.Pack;

/// <summary>
/// Opens the components of an opened <see cref="ModelPack"/>, each once, and checks what it opened against the
/// manifest and against the components opened before it: the projector's layout, experts, routing, widths and
/// precision (from its file) against the manifest; each encoder's kind, input and output names and output width (from
/// its ONNX session) against the manifest and the projector's input width; the GGUF's embedding length against the
/// manifest and the projector's output width, and the special-token ids against its vocabulary. A mismatch is an
/// <see cref="EdgeAvsrException"/> naming the file and the part.
/// </summary>
public static class PackLoader
{
    /// <summary>
    /// Loads the projector file and builds the projector that runs it with <paramref name="threads"/> workers, on
    /// <paramref name="device"/> when given, else on the manifest's <c>projector.device</c>.
    /// </summary>
    public static SmopProjector OpenProjector(ModelPack pack, int threads, ProjectorDevice? device = null)
    {
        ArgumentNullException.ThrowIfNull(pack);
        var p = pack.Manifest.Projector;
        string path = pack.PathOf(p.File);
        var w = SmopWeights.Load(path, p.Layout);
        string where = $"{path}: projector";
        if (w.IsInt8 != (p.Precision == ProjectorPrecision.Int8))
        {
            string kind = w.IsInt8 ? "an INT8 projector file" : "a float state dict";
            throw new EdgeAvsrException($"{where} is {kind}, the manifest says precision {p.Precision.ToText()}");
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
            Expect(where, "top_k (file metadata)", w.Routing!.TopK, p.Routing.TopK);
            Expect(where, "audio_pool (file metadata)", w.Routing.AudioPool, p.Routing.AudioPool);
            Expect(where, "video_pool (file metadata)", w.Routing.VideoPool, p.Routing.VideoPool);
        }
        foreach (var modality in new[] { Modality.Audio, Modality.Video })
        {
            int? actual = w.For(modality)?.InputDim;
            int? expected = p.InputDim(modality);
            if (actual != expected)
            {
                string name = modality.ToText();
                string found = actual is null ? $"absent (no {name} mixture)" : $"D={actual}";
                throw new EdgeAvsrException($"{where} {name} input width is {found}, the manifest says {(expected is null ? "none" : $"D={expected}")}");
            }
        }
        return SmopProjector.Create(w, new SmopOptions { Routing = p.Routing, Precision = p.Precision, Threads = threads, Device = device ?? p.Device });
    }

    /// <summary>
    /// The session options of encoder <paramref name="e"/>: its providers (or the override), threads, and TensorRT's INT8 mode
    /// for an int8 encoder (its QDQ pairs give TensorRT the ranges: no calibration table) with the CPU settings that keep its MatMuls
    /// int8 (<see cref="Int8EncoderSessionConfig"/>); fp32 keeps TensorRT in fp32.
    /// </summary>
    public static OnnxSessionOptions EncoderSessionOptions(PackEncoder e, PackEncoderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(e);
        options ??= new PackEncoderOptions();
        return new OnnxSessionOptions
        {
            Providers = options.Providers ?? e.ExecutionProviders,
            IntraOpThreads = options.Threads,
            Log = options.Log,
            TensorRt = new TensorRtOptions { Int8 = e.Precision == EncoderPrecision.Int8 },
            ConfigEntries = e.Precision == EncoderPrecision.Int8 ? Int8EncoderSessionConfig.Entries : new Dictionary<string, string>(),
        };
    }

    /// <summary>
    /// Opens the <paramref name="modality"/> encoder in ONNX Runtime (the providers of <paramref name="options"/> instead of
    /// the manifest's preference when given) and checks it against the manifest and <paramref name="projector"/>'s input width.
    /// </summary>
    public static EncoderSession OpenEncoder(ModelPack pack, Modality modality, SmopProjector projector, PackEncoderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(pack);
        ArgumentNullException.ThrowIfNull(projector);
        options ??= new PackEncoderOptions();
        var e = pack.Manifest.Encoder(modality) ?? throw new EdgeAvsrException($"{pack.Directory}: the pack has no {modality.ToText()} encoder");
        string path = pack.PathOf(e.File);
        string part = $"{path}: {modality.ToText()} encoder";
        var session = EncoderSession.Open(path, EncoderSessionOptions(e, options), modality == Modality.Audio ? pack.Manifest.FrontEnd.MelFrames : null);
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
                throw new EdgeAvsrException(
                    $"{part} output {session.Output.Describe()} has a symbolic width; the pack needs a fixed D to check it against the projector");
            }
            Expect(part, "output width", d, e.OutputDim);
            int projectorD = projector.InputDim(modality)
                ?? throw new EdgeAvsrException($"{part} has no projector mixture to feed: the projector has no {modality.ToText()} experts");
            if (d != projectorD)
            {
                throw new EdgeAvsrException($"{part} output width D={d} does not equal the projector's {modality.ToText()} input width D={projectorD}");
            }
            return session;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads the decoder GGUF in managed code (llama.cpp aborts the process on some malformed files, so this runs
    /// before it loads) and checks its widths against the manifest and <paramref name="projector"/>'s output width and
    /// the special-token ids against its vocabulary and metadata.
    /// </summary>
    public static LlamaHyperparameters CheckDecoder(ModelPack pack, SmopProjector projector)
    {
        ArgumentNullException.ThrowIfNull(pack);
        ArgumentNullException.ThrowIfNull(projector);
        var m = pack.Manifest;
        string path = pack.PathOf(m.Decoder.File);
        using var file = GgufFile.Open(path);
        var hp = LlamaGgufValidator.Validate(file);
        string part = $"{path}: decoder";
        Expect(part, "llama.embedding_length", hp.EmbeddingLength, m.Decoder.EmbeddingDim);
        if (hp.EmbeddingLength != projector.OutputDim)
        {
            throw new EdgeAvsrException(
                $"{part} embedding width llama.embedding_length={hp.EmbeddingLength} does not equal the projector's output width d_llm={projector.OutputDim}");
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

    /// <summary>Where the opened encoder runs, for reports.</summary>
    public static PackPlacement Placement(ModelPack pack, Modality modality, EncoderSession session)
    {
        ArgumentNullException.ThrowIfNull(pack);
        ArgumentNullException.ThrowIfNull(session);
        var e = pack.Manifest.Encoder(modality)!;
        string preference = string.Join(",", e.ExecutionProviders.Select(x => x.ToText()));
        return new PackPlacement($"{modality.ToText()} encoder", e.File, pack.BytesOf(e.File),
            $"ONNX Runtime, {session.Provider.ToText()} (preference {preference})");
    }

    /// <summary>Where the opened projector runs, for reports.</summary>
    public static PackPlacement Placement(ModelPack pack, SmopProjector projector)
    {
        ArgumentNullException.ThrowIfNull(pack);
        ArgumentNullException.ThrowIfNull(projector);
        var p = pack.Manifest.Projector;
        return new PackPlacement("projector", p.File, pack.BytesOf(p.File), $"CPU, {p.Precision.ToText()} kernel {projector.KernelName}");
    }

    /// <summary>Where the decoder runs, for reports; <paramref name="backend"/> is llama.cpp's device choice when known.</summary>
    public static PackPlacement Placement(ModelPack pack, LlamaHyperparameters decoder, LlamaBackendChoice? backend)
    {
        ArgumentNullException.ThrowIfNull(pack);
        ArgumentNullException.ThrowIfNull(decoder);
        var d = pack.Manifest.Decoder;
        string on = backend is null ? "" : $" on {backend}";
        return new PackPlacement("decoder", d.File, pack.BytesOf(d.File),
            $"llama.cpp{on}, {d.Type}, {decoder.BlockCount} layers, d={decoder.EmbeddingLength}, vocabulary {decoder.VocabSize}");
    }

    private static void Expect(string part, string what, long actual, long expected)
    {
        if (actual != expected)
        {
            throw new EdgeAvsrException($"{part} {what} is {actual}, the manifest says {expected}");
        }
    }
}
