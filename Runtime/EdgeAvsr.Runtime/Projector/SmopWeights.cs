using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Runtime.Projector;

/// <summary>
/// The SMoP weights of one model, read from a safetensors state dict with the authors' key names
/// (float32/16/bf16), or from EdgeAvsr's INT8 projector file (see docs/int8-projector-format.md).
/// </summary>
public sealed class SmopWeights
{
    public const string Int8Format = "edgeavsr.smop.int8";
    public const string Int8FormatVersion = "1";

    public required SmopLayout Layout { get; init; }

    /// <summary>The mixture for audio tokens (the joint one under JEJR); null if the file has none.</summary>
    public MixtureWeights? Audio { get; init; }

    public MixtureWeights? Video { get; init; }

    public bool IsInt8 { get; init; }

    /// <summary>Top-k and pooling recorded in the file (INT8 files); null where the file is silent.</summary>
    public RoutingSettings? Routing { get; init; }

    public MixtureWeights? For(Modality modality) => modality == Modality.Audio ? Audio : Video;

    /// <summary>Loads weights. <paramref name="layout"/> may be null only for an INT8 file, which records its layout.</summary>
    public static SmopWeights Load(string path, SmopLayout? layout)
    {
        using var file = SafetensorsFile.Open(path);
        bool int8 = file.Metadata.TryGetValue("format", out string? format) && format == Int8Format;
        RoutingSettings? routing = null;
        if (int8)
        {
            string version = MetadataValue(file, "format_version");
            if (version != Int8FormatVersion)
            {
                throw new EdgeAvsrException($"{path}: INT8 projector format_version {version}, this build reads {Int8FormatVersion}");
            }
            var fileLayout = SmopNames.ParseLayout(MetadataValue(file, "layout"), $"{path}: __metadata__ layout");
            if (layout is not null && layout != fileLayout)
            {
                throw new EdgeAvsrException("layout", name => $"{path}: the file's layout is {fileLayout.ToText()}, {name} asked for {layout.Value.ToText()}");
            }
            layout = fileLayout;
            routing = RoutingSettings.Create(MetadataInt(file, "top_k"), MetadataInt(file, "audio_pool"), MetadataInt(file, "video_pool"), null,
                RoutingOrigin.Int8Metadata(path));
        }
        else if (file.Metadata.TryGetValue("format", out string? other) && other.StartsWith("edgeavsr", StringComparison.Ordinal))
        {
            throw new EdgeAvsrException($"{path}: __metadata__ format '{other}' is not a projector file this build reads ({Int8Format})");
        }
        if (layout is null)
        {
            throw new EdgeAvsrException("layout", name => $"{path}: a float projector file does not record its layout: pass {name} jejr|dejr|dedr");
        }
        CheckLayoutKeys(file, layout.Value);
        MixtureWeights? audio, video;
        switch (layout.Value)
        {
            case SmopLayout.Jejr:
                audio = video = LoadMixture(file, "audiovisual_proj", SmopNames.JointPrefix + "gate.weight", SmopNames.JointPrefix + "experts.", int8);
                break;
            case SmopLayout.Dedr:
                audio = HasMixture(file, SmopNames.AudioPrefix, "gate.weight") ? LoadMixture(file, "audio_proj", SmopNames.AudioPrefix
                    + "gate.weight", SmopNames.AudioPrefix + "experts.", int8) : null;
                video = HasMixture(file, SmopNames.VideoPrefix, "gate.weight") ? LoadMixture(file, "video_proj", SmopNames.VideoPrefix
                    + "gate.weight", SmopNames.VideoPrefix + "experts.", int8) : null;
                break;
            default:
                audio = HasMixture(file, SmopNames.AudioPrefix, "experts.0.0.weight") ? LoadMixture(file, "audio_proj", SmopNames.SharedRouter,
                    SmopNames.AudioPrefix + "experts.", int8) : null;
                video = HasMixture(file, SmopNames.VideoPrefix, "experts.0.0.weight") ? LoadMixture(file, "video_proj", SmopNames.SharedRouter,
                    SmopNames.VideoPrefix + "experts.", int8) : null;
                break;
        }
        if (audio is null && video is null)
        {
            throw new EdgeAvsrException($"{path}: no projector weights for layout {layout.Value.ToText()} (expected {SmopNames.AudioPrefix}* or " +
                $"{SmopNames.VideoPrefix}*)");
        }
        if (audio is not null && video is not null && audio.OutputDim != video.OutputDim)
        {
            throw new EdgeAvsrException($"{path}: audio experts write d_llm={audio.OutputDim}, video experts d_llm={video.OutputDim}; both feed one LLM");
        }
        return new SmopWeights { Layout = layout.Value, Audio = audio, Video = video, IsInt8 = int8, Routing = routing };
    }

    /// <summary>The same model with every expert quantized to int8 (router and LayerNorm stay float32).</summary>
    public SmopWeights ToInt8()
    {
        if (IsInt8)
        {
            return this;
        }
        var audio = Audio?.ToInt8();
        var video = Layout == SmopLayout.Jejr ? audio : Video?.ToInt8();
        return new SmopWeights { Layout = Layout, Audio = audio, Video = video, IsInt8 = true, Routing = Routing };
    }

    private static void CheckLayoutKeys(SafetensorsFile file, SmopLayout layout)
    {
        bool joint = file.Contains(SmopNames.JointPrefix + "gate.weight");
        bool shared = file.Contains(SmopNames.SharedRouter);
        bool disjoint = file.Contains(SmopNames.AudioPrefix + "gate.weight") || file.Contains(SmopNames.VideoPrefix + "gate.weight");
        string? looksLike = joint ? "jejr" : shared ? "dejr" : disjoint ? "dedr" : null;
        bool ok = layout switch
        {
            SmopLayout.Jejr => joint,
            SmopLayout.Dejr => shared,
            _ => disjoint,
        };
        if (!ok)
        {
            string expected = layout switch
            {
                SmopLayout.Jejr => $"'{SmopNames.JointPrefix}gate.weight'",
                SmopLayout.Dejr => $"'{SmopNames.SharedRouter}'",
                _ => $"'{SmopNames.AudioPrefix}gate.weight' or '{SmopNames.VideoPrefix}gate.weight'",
            };
            string hint = looksLike is null ? "" : $" (its keys look like layout {looksLike})";
            throw new EdgeAvsrException($"{file.FilePath}: layout {layout.ToText()} needs {expected}, which the file lacks{hint}");
        }
    }

    // A modality's mixture is absent (ASR- or VSR-only model) when none of its keys exist; some keys without the
    // one that marks it is a damaged file, not a missing modality.
    private static bool HasMixture(SafetensorsFile file, string prefix, string markerSuffix)
    {
        if (file.Contains(prefix + markerSuffix))
        {
            return true;
        }
        if (file.Tensors.Keys.Any(k => k.StartsWith(prefix, StringComparison.Ordinal)))
        {
            throw new EdgeAvsrException($"{file.FilePath}: tensor '{prefix}{markerSuffix}' is missing (the file has other {prefix}* tensors)");
        }
        return false;
    }

    private static MixtureWeights LoadMixture(SafetensorsFile file, string name, string routerKey, string expertPrefix, bool int8)
    {
        var router = file.Get(routerKey);
        if (router.Shape.Length != 2 || router.Shape[0] < 1 || router.Shape[1] < 1)
        {
            throw new EdgeAvsrException($"{file.FilePath}: tensor '{routerKey}' has shape {router.ShapeText}, expected [E, D] with E, D >= 1");
        }
        int experts = checked((int)router.Shape[0]);
        int inputDim = checked((int)router.Shape[1]);
        if (file.Contains($"{expertPrefix}{experts}.0.weight"))
        {
            throw new EdgeAvsrException($"{file.FilePath}: '{expertPrefix}{experts}.0.weight' exists but router '{routerKey}' has only {experts} rows");
        }
        var first = file.Get($"{expertPrefix}0.0.weight");
        if (first.Shape.Length != 2 || first.Shape[1] != inputDim)
        {
            throw new EdgeAvsrException($"{file.FilePath}: tensor '{expertPrefix}0.0.weight' has shape {first.ShapeText}, expected [I, {inputDim}] (D " +
                $"from '{routerKey}')");
        }
        int hidden = checked((int)first.Shape[0]);
        var second = file.Get($"{expertPrefix}0.2.weight");
        if (second.Shape.Length != 2 || second.Shape[1] != hidden)
        {
            throw new EdgeAvsrException($"{file.FilePath}: tensor '{expertPrefix}0.2.weight' has shape {second.ShapeText}, expected [d_llm, {hidden}]");
        }
        int output = checked((int)second.Shape[0]);
        var list = new ExpertWeights[experts];
        for (int e = 0; e < experts; e++)
        {
            string p = $"{expertPrefix}{e}.";
            list[e] = int8
                ? new ExpertWeights
                {
                    InputDim = inputDim,
                    HiddenDim = hidden,
                    OutputDim = output,
                    UpInt8 = file.ReadInt8(p + "0.weight", hidden, inputDim),
                    UpScale = ReadScale(file, p + "0.weight_scale", hidden),
                    UpBias = ReadFinite(file, p + "0.bias", hidden),
                    DownInt8 = file.ReadInt8(p + "2.weight", output, hidden),
                    DownScale = ReadScale(file, p + "2.weight_scale", output),
                    DownBias = ReadFinite(file, p + "2.bias", output),
                    NormWeight = ReadFinite(file, p + "3.weight", output),
                    NormBias = ReadFinite(file, p + "3.bias", output),
                }
                : new ExpertWeights
                {
                    InputDim = inputDim,
                    HiddenDim = hidden,
                    OutputDim = output,
                    Up = ReadFinite(file, p + "0.weight", hidden, inputDim),
                    UpBias = ReadFinite(file, p + "0.bias", hidden),
                    Down = ReadFinite(file, p + "2.weight", output, hidden),
                    DownBias = ReadFinite(file, p + "2.bias", output),
                    NormWeight = ReadFinite(file, p + "3.weight", output),
                    NormBias = ReadFinite(file, p + "3.bias", output),
                };
        }
        return new MixtureWeights { Name = name, RouterKey = routerKey, Router = ReadFinite(file, routerKey, experts, inputDim), Experts = list };
    }

    private static float[] ReadScale(SafetensorsFile file, string key, long rows)
    {
        var t = file.Get(key);
        if (t.DType != TensorDType.F32)
        {
            throw new EdgeAvsrException($"{file.FilePath}: tensor '{key}' has dtype {TensorDTypes.ToSafetensorsName(t.DType)}, expected F32");
        }
        float[] s = ReadFinite(file, key, rows);
        foreach (float v in s)
        {
            if (v < 0)
            {
                throw new EdgeAvsrException($"{file.FilePath}: tensor '{key}' holds a negative scale {v}; scales are >= 0");
            }
        }
        return s;
    }

    private static float[] ReadFinite(SafetensorsFile file, string key, params long[] shape)
    {
        float[] data = file.ReadFloat32(key, shape);
        for (int i = 0; i < data.Length; i++)
        {
            if (!float.IsFinite(data[i]))
            {
                throw new EdgeAvsrException($"{file.FilePath}: tensor '{key}' holds {data[i]} at flat index {i}; weights must be finite");
            }
        }
        return data;
    }

    private static string MetadataValue(SafetensorsFile file, string key) =>
        file.Metadata.TryGetValue(key, out string? v) ? v : throw new EdgeAvsrException($"{file.FilePath}: INT8 projector __metadata__ lacks '{key}'");

    /// <summary>A metadata value as an integer; its range is checked by <see cref="RoutingSettings"/>, which it feeds.</summary>
    private static int MetadataInt(SafetensorsFile file, string key)
    {
        string v = MetadataValue(file, key);
        return int.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int n)
            ? n
            : throw new EdgeAvsrException($"{file.FilePath}: __metadata__ '{key}' is '{v}', expected an integer");
    }
}
