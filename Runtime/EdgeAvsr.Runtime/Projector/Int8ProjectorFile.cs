using System.Globalization;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Runtime.Projector;

/// <summary>
/// Writes EdgeAvsr's INT8 projector file: a safetensors file with the authors' key names, each Linear
/// <c>weight</c> as I8 <c>[out, in]</c> beside an F32 <c>weight_scale</c> <c>[out]</c>; biases, routers and
/// LayerNorm in F32; <c>__metadata__</c> naming the format, version, layout, top-k and pooling rates.
/// The full definition is docs/int8-projector-format.md.
/// </summary>
public static class Int8ProjectorFile
{
    /// <summary>Writes <paramref name="weights"/> quantized, recording <paramref name="routing"/> and the <paramref name="source"/> file name.</summary>
    public static void Write(string path, SmopWeights weights, RoutingSettings routing, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(routing);
        var q = weights.ToInt8();
        foreach (var mixture in new[] { q.Audio, q.Video }.OfType<MixtureWeights>())
        {
            routing.CheckFits(mixture.ExpertCount, mixture.Name);
        }
        var writer = new SafetensorsWriter();
        writer.SetMetadata("format", SmopWeights.Int8Format);
        writer.SetMetadata("format_version", SmopWeights.Int8FormatVersion);
        writer.SetMetadata("layout", q.Layout.ToText());
        writer.SetMetadata("top_k", routing.TopK.ToString(CultureInfo.InvariantCulture));
        writer.SetMetadata("audio_pool", routing.AudioPool.ToString(CultureInfo.InvariantCulture));
        writer.SetMetadata("video_pool", routing.VideoPool.ToString(CultureInfo.InvariantCulture));
        // One count when every mixture has it; DEDR may give each modality its own, recorded per modality.
        var counts = new[] { q.Audio, q.Video }.OfType<MixtureWeights>().Select(m => m.ExpertCount).Distinct().ToArray();
        if (counts.Length == 1)
        {
            writer.SetMetadata("num_experts", counts[0].ToString(CultureInfo.InvariantCulture));
        }
        else
        {
            writer.SetMetadata("audio_num_experts", q.Audio!.ExpertCount.ToString(CultureInfo.InvariantCulture));
            writer.SetMetadata("video_num_experts", q.Video!.ExpertCount.ToString(CultureInfo.InvariantCulture));
        }
        writer.SetMetadata("modalities", string.Join(",", new[] { q.Audio is null ? null : "audio", q.Video is null ? null : "video" }.Where(s =>
            s is not null)));
        if (source is not null)
        {
            writer.SetMetadata("source", source);
        }
        switch (q.Layout)
        {
            case SmopLayout.Jejr:
                AddMixture(writer, q.Audio!, SmopNames.JointPrefix + "gate.weight", SmopNames.JointPrefix + "experts.");
                break;
            case SmopLayout.Dedr:
                if (q.Audio is not null)
                {
                    AddMixture(writer, q.Audio, SmopNames.AudioPrefix + "gate.weight", SmopNames.AudioPrefix + "experts.");
                }
                if (q.Video is not null)
                {
                    AddMixture(writer, q.Video, SmopNames.VideoPrefix + "gate.weight", SmopNames.VideoPrefix + "experts.");
                }
                break;
            default:
                var any = (q.Audio ?? q.Video)!;
                writer.AddFloat32(SmopNames.SharedRouter, [any.ExpertCount, any.InputDim], any.Router);
                if (q.Audio is not null)
                {
                    AddMixture(writer, q.Audio, null, SmopNames.AudioPrefix + "experts.");
                }
                if (q.Video is not null)
                {
                    AddMixture(writer, q.Video, null, SmopNames.VideoPrefix + "experts.");
                }
                break;
        }
        writer.Write(path);
    }

    private static void AddMixture(SafetensorsWriter writer, MixtureWeights m, string? routerKey, string expertPrefix)
    {
        if (routerKey is not null)
        {
            writer.AddFloat32(routerKey, [m.ExpertCount, m.InputDim], m.Router);
        }
        for (int e = 0; e < m.ExpertCount; e++)
        {
            var x = m.Experts[e];
            string p = $"{expertPrefix}{e}.";
            writer.AddInt8(p + "0.weight", [x.HiddenDim, x.InputDim], x.UpInt8);
            writer.AddFloat32(p + "0.weight_scale", [x.HiddenDim], x.UpScale);
            writer.AddFloat32(p + "0.bias", [x.HiddenDim], x.UpBias);
            writer.AddInt8(p + "2.weight", [x.OutputDim, x.HiddenDim], x.DownInt8);
            writer.AddFloat32(p + "2.weight_scale", [x.OutputDim], x.DownScale);
            writer.AddFloat32(p + "2.bias", [x.OutputDim], x.DownBias);
            writer.AddFloat32(p + "3.weight", [x.OutputDim], x.NormWeight);
            writer.AddFloat32(p + "3.bias", [x.OutputDim], x.NormBias);
        }
    }
}
