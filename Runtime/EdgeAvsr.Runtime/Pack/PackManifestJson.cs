using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Encoders;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Onnx;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Runtime.Pack;

/// <summary>
/// <c>manifest.json</c> to and from <see cref="PackManifest"/> with <see cref="Utf8JsonWriter"/> and
/// <see cref="JsonDocument"/> (no reflection, NativeAOT-safe). Every key is required; a missing or mistyped key is an
/// <see cref="EdgeAvsrException"/> naming it by its dotted path.
/// </summary>
public static class PackManifestJson
{
    public static byte[] ToUtf8(PackManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteNumber("schema_version", manifest.SchemaVersion);
            w.WriteString("name", manifest.Name);
            w.WriteStartArray("tasks");
            foreach (var t in manifest.Tasks)
            {
                w.WriteStringValue(t.ToText());
            }
            w.WriteEndArray();
            WriteEncoder(w, "audio_encoder", manifest.AudioEncoder);
            WriteEncoder(w, "video_encoder", manifest.VideoEncoder);
            var p = manifest.Projector;
            w.WriteStartObject("projector");
            w.WriteString("file", p.File);
            w.WriteString("precision", p.Precision.ToText());
            w.WriteString("layout", p.Layout.ToText());
            w.WriteNumber("experts", p.Experts);
            w.WriteNumber("top_k", p.Routing.TopK);
            w.WriteNumber("audio_pool", p.Routing.AudioPool);
            w.WriteNumber("video_pool", p.Routing.VideoPool);
            WriteOptionalInt(w, "audio_input_dim", p.AudioInputDim);
            WriteOptionalInt(w, "video_input_dim", p.VideoInputDim);
            w.WriteNumber("hidden_dim", p.HiddenDim);
            w.WriteNumber("output_dim", p.OutputDim);
            if (p.Device != ProjectorDevice.Cpu)
            {
                w.WriteString("device", EnumText<ProjectorDevice>.ToText(p.Device));
            }
            w.WriteEndObject();
            var d = manifest.Decoder;
            w.WriteStartObject("decoder");
            w.WriteString("file", d.File);
            w.WriteString("type", d.Type);
            w.WriteNumber("embedding_dim", d.EmbeddingDim);
            w.WriteNumber("lora_reduction", d.LoraReduction);
            w.WriteNumber("lora_alpha", d.LoraAlpha);
            w.WriteEndObject();
            var f = manifest.FrontEnd;
            w.WriteStartObject("front_end");
            w.WriteNumber("sample_rate", f.SampleRate);
            w.WriteBoolean("waveform_normalization", f.WaveformNormalization);
            w.WriteNumber("mel_bins", f.MelBins);
            w.WriteNumber("mel_frames", f.MelFrames);
            w.WriteNumber("video_fps", f.VideoFps);
            w.WriteNumber("crop_size", f.CropSize);
            w.WriteNumber("roi_size", f.RoiSize);
            w.WriteNumber("roi_mean", f.RoiMean);
            w.WriteNumber("roi_std", f.RoiStd);
            w.WriteEndObject();
            w.WriteStartObject("prompts");
            foreach (var task in manifest.Prompts.Keys.Order())
            {
                w.WriteString(task.ToText(), manifest.Prompts[task]);
            }
            w.WriteEndObject();
            int[] specialIds = manifest.SpecialTokens.Ids;
            w.WriteStartObject("special_tokens");
            for (int i = 0; i < specialIds.Length; i++)
            {
                w.WriteNumber(AvsrSpecialTokens.Table[i].Name, specialIds[i]);
            }
            w.WriteEndObject();
            w.WriteStartObject("decoding");
            w.WriteNumber("beams", manifest.Decoding.Beams);
            w.WriteNumber("max_new_tokens", manifest.Decoding.MaxNewTokens);
            w.WriteEndObject();
            w.WriteStartArray("files");
            foreach (var file in manifest.Files)
            {
                w.WriteStartObject();
                w.WriteString("path", file.Path);
                w.WriteNumber("bytes", file.Bytes);
                w.WriteString("sha256", file.Sha256);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        stream.WriteByte((byte)'\n');
        return stream.ToArray();
    }

    public static PackManifest Read(string path)
    {
        using var json = CheckedJson.Read(path, what: "file (a model pack folder holds manifest.json)");
        return Parse(json);
    }

    public static PackManifest Parse(ReadOnlyMemory<byte> utf8, string source)
    {
        using var json = CheckedJson.Parse(utf8, source);
        return Parse(json);
    }

    private static PackManifest Parse(CheckedJson r)
    {
        string source = r.Source;
        var root = r.Object(r.Root, "(root)");
        int version = r.Int(root, "schema_version");
        if (version != PackManifest.CurrentSchemaVersion)
        {
            throw new EdgeAvsrException($"{source}: schema_version {version}; this build reads schema version {PackManifest.CurrentSchemaVersion}");
        }
        var tasks = new List<AvsrTask>();
        foreach (var t in r.Array(root, "tasks").EnumerateArray())
        {
            string text = r.StringValue(t, "tasks[]");
            var task = AvsrTasks.Parse(text, $"{source}: tasks[]");
            if (tasks.Contains(task))
            {
                throw new EdgeAvsrException($"{source}: tasks lists '{text}' twice");
            }
            tasks.Add(task);
        }
        if (tasks.Count == 0)
        {
            throw new EdgeAvsrException($"{source}: tasks is empty; a pack supports at least one of asr, vsr, avsr");
        }
        var proj = r.Child(root, "projector");
        int experts = r.Int(proj, "projector.experts", 1);
        var routing = RoutingSettings.Create(r.Int(proj, "projector.top_k"), r.Int(proj, "projector.audio_pool"), r.Int(proj, "projector.video_pool"),
            experts, RoutingOrigin.Manifest(source));
        var projector = new PackProjector
        {
            File = r.String(proj, "projector.file"),
            Precision = r.String(proj, "projector.precision") switch
            {
                "int8" => ProjectorPrecision.Int8,
                "fp32" => ProjectorPrecision.Fp32,
                var other => throw new EdgeAvsrException($"{source}: projector.precision '{other}' is not int8 or fp32"),
            },
            Layout = SmopNames.ParseLayout(r.String(proj, "projector.layout"), $"{source}: projector.layout"),
            Experts = experts,
            Routing = routing,
            AudioInputDim = r.OptionalInt(proj, "projector.audio_input_dim", min: 1),
            VideoInputDim = r.OptionalInt(proj, "projector.video_input_dim", min: 1),
            HiddenDim = r.Int(proj, "projector.hidden_dim", 1),
            OutputDim = r.Int(proj, "projector.output_dim", 1),
            Device = r.OptionalString(proj, "projector.device") is { } device ? ParseDevice(device, source) : ProjectorDevice.Cpu,
        };
        var dec = r.Child(root, "decoder");
        var decoder = new PackDecoder
        {
            File = r.String(dec, "decoder.file"),
            Type = r.String(dec, "decoder.type"),
            EmbeddingDim = r.Int(dec, "decoder.embedding_dim", 1),
            LoraReduction = r.Int(dec, "decoder.lora_reduction", 1),
            LoraAlpha = r.Number(dec, "decoder.lora_alpha"),
        };
        var fe = r.Child(root, "front_end");
        var frontEnd = new PackFrontEnd
        {
            SampleRate = r.Int(fe, "front_end.sample_rate", 1),
            WaveformNormalization = r.Bool(fe, "front_end.waveform_normalization"),
            MelBins = r.Int(fe, "front_end.mel_bins", 1),
            MelFrames = r.Int(fe, "front_end.mel_frames", 1, EncoderSession.MelFrames),
            VideoFps = r.Number(fe, "front_end.video_fps"),
            CropSize = r.Int(fe, "front_end.crop_size", 1),
            RoiSize = r.Int(fe, "front_end.roi_size", 1),
            RoiMean = r.Number(fe, "front_end.roi_mean"),
            RoiStd = r.Number(fe, "front_end.roi_std"),
        };
        CheckFrontEnd(source, frontEnd);
        var pr = r.Child(root, "prompts");
        var prompts = new Dictionary<AvsrTask, string>();
        foreach (var task in tasks)
        {
            prompts[task] = r.String(pr, "prompts." + task.ToText());
        }
        var st = r.Child(root, "special_tokens");
        var special = AvsrSpecialTokens.FromIds([.. AvsrSpecialTokens.Table.Select(t => r.Int(st, "special_tokens." + t.Name, 0))]);
        var de = r.Child(root, "decoding");
        var decoding = new PackDecoding { Beams = r.Int(de, "decoding.beams", 1), MaxNewTokens = r.Int(de, "decoding.max_new_tokens", 1) };
        var files = new List<PackFile>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int index = 0;
        foreach (var f in r.Array(root, "files").EnumerateArray())
        {
            string at = $"files[{index++}]";
            var o = r.Object(f, at);
            string rel = r.String(o, at + ".path");
            CheckRelative(source, at + ".path", rel);
            if (!seen.Add(rel))
            {
                throw new EdgeAvsrException($"{source}: files lists '{rel}' twice");
            }
            string sha = r.String(o, at + ".sha256");
            if (sha.Length != 64 || !sha.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f')))
            {
                throw new EdgeAvsrException($"{source}: {at}.sha256 '{sha}' is not 64 lowercase hex digits");
            }
            files.Add(new PackFile(rel, r.Long(o, at + ".bytes", min: 0), sha));
        }
        var manifest = new PackManifest
        {
            SchemaVersion = version,
            Name = r.String(root, "name"),
            Tasks = tasks,
            AudioEncoder = ReadEncoder(r, root, "audio_encoder"),
            VideoEncoder = ReadEncoder(r, root, "video_encoder"),
            Projector = projector,
            Decoder = decoder,
            FrontEnd = frontEnd,
            Prompts = prompts,
            SpecialTokens = special,
            Decoding = decoding,
            Files = files,
        };
        CheckConsistency(source, manifest, seen);
        return manifest;
    }

    /// <summary>
    /// The front end is the runtime's own (16 kHz, 80 mel bins, 25 fps, 96 px crop, 88 px ROI, mean 0.421, std 0.165: the
    /// encoders were trained on exactly that); a manifest that says otherwise describes a model this build cannot feed.
    /// </summary>
    private static void CheckFrontEnd(string source, PackFrontEnd f)
    {
        if (f.RoiStd <= 0)
        {
            throw FrontEndError(source, "roi_std", f.RoiStd, PackFrontEnd.FixedRoiStd, "the ROI normalisation divides by it");
        }
        if (f.CropSize < f.RoiSize)
        {
            throw new EdgeAvsrException(string.Create(CultureInfo.InvariantCulture,
                $"{source}: front_end.crop_size {f.CropSize} is smaller than front_end.roi_size {f.RoiSize} (the ROI is cut from the crop's centre)"));
        }
        Expect(source, "sample_rate", f.SampleRate, PackFrontEnd.FixedSampleRate);
        Expect(source, "mel_bins", f.MelBins, EncoderSession.MelBins);
        Expect(source, "video_fps", f.VideoFps, PackFrontEnd.FixedVideoFps);
        Expect(source, "crop_size", f.CropSize, PackFrontEnd.FixedCropSize);
        Expect(source, "roi_size", f.RoiSize, EncoderSession.RoiSize);
        Expect(source, "roi_mean", f.RoiMean, PackFrontEnd.FixedRoiMean);
        Expect(source, "roi_std", f.RoiStd, PackFrontEnd.FixedRoiStd);
    }

    // The float constants are compared at float precision: the manifest holds their shortest decimal text (0.421).
    private static void Expect(string source, string key, double value, double constant)
    {
        if ((float)value != (float)constant)
        {
            throw FrontEndError(source, key, value, constant, "the runtime's fixed front end");
        }
    }

    private static EdgeAvsrException FrontEndError(string source, string key, double value, double constant, string why) =>
        new(string.Create(CultureInfo.InvariantCulture, $"{source}: front_end.{key} is {value}, expected {(float)constant} ({why}; docs/model-pack.md)"));

    private static void CheckConsistency(string source, PackManifest m, HashSet<string> listed)
    {
        foreach (var (part, file) in m.ComponentFiles())
        {
            CheckRelative(source, part + " file", file);
            if (!listed.Contains(file))
            {
                throw new EdgeAvsrException($"{source}: the {part} file '{file}' is not listed under files (every file needs its size and sha256)");
            }
        }
        bool audio = m.Tasks.Contains(AvsrTask.Asr) || m.Tasks.Contains(AvsrTask.Avsr);
        bool video = m.Tasks.Contains(AvsrTask.Vsr) || m.Tasks.Contains(AvsrTask.Avsr);
        foreach (var (needed, modality) in new[] { (audio, Modality.Audio), (video, Modality.Video) })
        {
            if (!needed)
            {
                continue;
            }
            string name = modality.ToText();
            if (m.Encoder(modality) is null)
            {
                throw new EdgeAvsrException($"{source}: tasks {string.Join(",", m.Tasks.Select(t => t.ToText()))} need {name}_encoder, which is missing");
            }
            if (m.Projector.InputDim(modality) is null)
            {
                throw new EdgeAvsrException($"{source}: tasks {string.Join(",", m.Tasks.Select(t => t.ToText()))} need projector.{name}_input_dim, " +
                    "which is missing");
            }
        }
    }

    private static void CheckRelative(string source, string what, string rel)
    {
        if (rel.Length == 0 || Path.IsPathRooted(rel) || rel.Contains('\\', StringComparison.Ordinal)
            || rel.Split('/').Any(s => s is "" or "." or ".."))
        {
            throw new EdgeAvsrException($"{source}: {what} '{rel}' must be a plain relative path inside the pack folder");
        }
    }

    private static void WriteEncoder(Utf8JsonWriter w, string key, PackEncoder? e)
    {
        if (e is null)
        {
            return;
        }
        w.WriteStartObject(key);
        w.WriteString("file", e.File);
        w.WriteString("input", e.InputName);
        w.WriteString("output", e.OutputName);
        w.WriteNumber("output_dim", e.OutputDim);
        if (e.Precision != EncoderPrecision.Fp32)
        {
            w.WriteString("precision", EnumText<EncoderPrecision>.ToText(e.Precision));
        }
        w.WriteStartArray("execution_providers");
        foreach (var p in e.ExecutionProviders)
        {
            w.WriteStringValue(p.ToText());
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static PackEncoder? ReadEncoder(CheckedJson r, JsonElement root, string key)
    {
        if (!root.TryGetProperty(key, out var el) || el.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        var o = r.Object(el, key);
        var eps = r.Array(o, key + ".execution_providers").EnumerateArray().Select(x => r.StringValue(x, key + ".execution_providers[]")).ToList();
        if (eps.Count == 0)
        {
            throw new EdgeAvsrException($"{r.Source}: {key}.execution_providers is empty; list at least one of tensorrt, cuda, cpu");
        }
        var providers = OnnxSessionOptions.ParseProviders(string.Join(",", eps), $"{r.Source}: {key}.execution_providers");
        return new PackEncoder
        {
            File = r.String(o, key + ".file"),
            InputName = r.String(o, key + ".input"),
            OutputName = r.String(o, key + ".output"),
            OutputDim = r.Int(o, key + ".output_dim", 1),
            Precision = r.OptionalString(o, key + ".precision") is { } precision
                ? EnumText<EncoderPrecision>.TryParse(precision, out var p) ? p
                    : throw new EdgeAvsrException($"{r.Source}: {key}.precision '{precision}' is not {EnumText<EncoderPrecision>.Choices()}")
                : EncoderPrecision.Fp32,
            ExecutionProviders = providers,
        };
    }

    private static ProjectorDevice ParseDevice(string text, string source) =>
        EnumText<ProjectorDevice>.TryParse(text, out var device)
            ? device
            : throw new EdgeAvsrException($"{source}: projector.device '{text}' is not {EnumText<ProjectorDevice>.Choices()}");

    private static void WriteOptionalInt(Utf8JsonWriter w, string key, int? value)
    {
        if (value is int v)
        {
            w.WriteNumber(key, v);
        }
    }
}
