using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>What <see cref="MediaClip.Inspect"/> found: the clip's streams and, per file, ffprobe's report.</summary>
public sealed record MediaClipInfo(MediaStreams Streams, IReadOnlyList<MediaFileInfo> Files)
{
    /// <summary>The report of <paramref name="path"/>, or null when the file was not inspected.</summary>
    public MediaFileInfo? File(string path) => Files.FirstOrDefault(f => string.Equals(f.Path, path, StringComparison.Ordinal));
}
