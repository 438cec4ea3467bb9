namespace EdgeAvsr.Runtime.Projector;

/// <summary>Where <see cref="RoutingSettings"/> came from, for its errors: the source and the names of its values there.</summary>
/// <param name="Source">The file (or other source) the values were read from; empty for values given in code.</param>
/// <param name="TopK">The name of top-k there (e.g. <c>projector.top_k</c>).</param>
/// <param name="AudioPool">The name of the audio pooling rate there.</param>
/// <param name="VideoPool">The name of the video pooling rate there.</param>
/// <param name="Experts">The name of the expert count there.</param>
public sealed record RoutingOrigin(string Source, string TopK, string AudioPool, string VideoPool, string Experts)
{
    /// <summary>Values given as parameters (top-k, audio pool, video pool).</summary>
    public static RoutingOrigin Parameters { get; } = new("", "top-k", "audio pool", "video pool", "experts");

    /// <summary>The <c>projector</c> object of a pack manifest (docs/model-pack.md).</summary>
    public static RoutingOrigin Manifest(string path) =>
        new(path, "projector.top_k", "projector.audio_pool", "projector.video_pool", "projector.experts");

    /// <summary>The <c>__metadata__</c> of an INT8 projector file (docs/int8-projector-format.md).</summary>
    public static RoutingOrigin Int8Metadata(string path) =>
        new(path, "__metadata__ top_k", "__metadata__ audio_pool", "__metadata__ video_pool", "__metadata__ num_experts");
}
