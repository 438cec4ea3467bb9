namespace EdgeAvsr.Runtime.Projector;

/// <summary>How the Sparse Mixture of Projectors shares routers and experts between modalities.</summary>
public enum SmopLayout
{
    /// <summary>Joint experts, joint router: one MoP over the audio tokens followed by the video tokens (the authors' public code).</summary>
    Jejr,

    /// <summary>Disjoint experts, joint router: one router shared by both modalities, experts per modality.</summary>
    Dejr,

    /// <summary>Disjoint experts, disjoint routers: a router and experts per modality (the paper's best).</summary>
    Dedr,
}

public enum ProjectorPrecision
{
    Fp32,
    Int8,
}

public enum Modality
{
    Audio,
    Video,
}

public static class SmopNames
{
    public const string JointPrefix = "audiovisual_proj.";
    public const string AudioPrefix = "audio_proj.";
    public const string VideoPrefix = "video_proj.";
    public const string SharedRouter = "av_router.weight";

    public static string ToText(this SmopLayout layout) => layout switch
    {
        SmopLayout.Jejr => "jejr",
        SmopLayout.Dejr => "dejr",
        _ => "dedr",
    };

    public static SmopLayout ParseLayout(string text, string source) => text.ToUpperInvariant() switch
    {
        "JEJR" => SmopLayout.Jejr,
        "DEJR" => SmopLayout.Dejr,
        "DEDR" => SmopLayout.Dedr,
        _ => throw new EdgeAvsrException($"{source}: layout '{text}' is not jejr, dejr or dedr"),
    };

    public static string ToText(this ProjectorPrecision precision) => precision == ProjectorPrecision.Int8 ? "int8" : "fp32";

    public static string ToText(this Modality modality) => modality == Modality.Audio ? "audio" : "video";
}
