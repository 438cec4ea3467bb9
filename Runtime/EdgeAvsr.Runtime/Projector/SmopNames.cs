namespace EdgeAvsr.Runtime.Projector;

public static class SmopNames
{
    public const string JointPrefix = "audiovisual_proj.";
    public const string AudioPrefix = "audio_proj.";
    public const string VideoPrefix = "video_proj.";
    public const string SharedRouter = "av_router.weight";

    public static string ToText(this SmopLayout layout) => EnumText<SmopLayout>.ToText(layout);

    /// <summary><c>jejr</c>, <c>dejr</c> or <c>dedr</c> (any case); an error starts with <paramref name="source"/>.</summary>
    public static SmopLayout ParseLayout(string text, string source) =>
        EnumText<SmopLayout>.TryParse(text, out var layout)
            ? layout
            : throw new EdgeAvsrException($"{source}: layout '{text}' is not {EnumText<SmopLayout>.Choices()}");

    public static string ToText(this ProjectorPrecision precision) => EnumText<ProjectorPrecision>.ToText(precision);
}
