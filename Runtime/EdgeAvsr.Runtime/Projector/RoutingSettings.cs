using System.Globalization;

namespace EdgeAvsr.Runtime.Projector;

/// <summary>
/// How a SMoP projector routes and pools: every token goes to its <see cref="TopK"/> most probable experts, after
/// audio and video frames are averaged over <see cref="AudioPool"/> and <see cref="VideoPool"/> frames. Made only by
/// <see cref="Create(int, int, int, int?, RoutingOrigin)"/>, which checks the values once, so a value of this type
/// is valid (top-k &gt;= 1, pools &gt;= 1) wherever it travels.
/// </summary>
public sealed record RoutingSettings
{
    private RoutingSettings(int topK, int audioPool, int videoPool)
    {
        TopK = topK;
        AudioPool = audioPool;
        VideoPool = videoPool;
    }

    /// <summary>k: the experts each token is routed to.</summary>
    public int TopK { get; }

    /// <summary>Audio frames averaged into one token.</summary>
    public int AudioPool { get; }

    /// <summary>Video frames averaged into one token.</summary>
    public int VideoPool { get; }

    public int Pool(Modality modality) => modality == Modality.Audio ? AudioPool : VideoPool;

    /// <summary>Checked values given as parameters (errors name them top-k, audio pool, video pool).</summary>
    public static RoutingSettings Create(int topK, int audioPool, int videoPool) => Create(topK, audioPool, videoPool, null, RoutingOrigin.Parameters);

    /// <summary>
    /// Checks top-k in 1..<paramref name="experts"/> (only &gt;= 1 when the count is not known yet; the projector checks it
    /// against each mixture) and both pools &gt;= 1. An error is one line naming the value and <paramref name="origin"/>.
    /// </summary>
    public static RoutingSettings Create(int topK, int audioPool, int videoPool, int? experts, RoutingOrigin origin)
    {
        ArgumentNullException.ThrowIfNull(origin);
        var c = CultureInfo.InvariantCulture;
        string at = origin.Source.Length == 0 ? "" : origin.Source + ": ";
        if (experts is int e && (topK < 1 || topK > e))
        {
            throw new EdgeAvsrException(string.Create(c, $"{at}{origin.TopK} {topK} must be between 1 and {origin.Experts} {e}"));
        }
        if (topK < 1)
        {
            throw new EdgeAvsrException(string.Create(c, $"{at}{origin.TopK} {topK} must be >= 1"));
        }
        foreach (var (name, pool) in new[] { (origin.AudioPool, audioPool), (origin.VideoPool, videoPool) })
        {
            if (pool < 1)
            {
                throw new EdgeAvsrException(string.Create(c, $"{at}{name} {pool} must be >= 1 (frames averaged into one token)"));
            }
        }
        return new RoutingSettings(topK, audioPool, videoPool);
    }

    /// <summary>Checks that a mixture of <paramref name="experts"/> experts (named <paramref name="mixture"/>) has top-k of them to route to.</summary>
    public void CheckFits(int experts, string mixture)
    {
        if (TopK > experts)
        {
            throw new EdgeAvsrException(string.Create(CultureInfo.InvariantCulture, $"top-k {TopK} must be between 1 and the {experts} experts of {mixture}"));
        }
    }
}
