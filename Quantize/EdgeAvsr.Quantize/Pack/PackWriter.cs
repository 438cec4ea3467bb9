using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Pack;

namespace EdgeAvsr.Quantize.Pack;

/// <summary>Finishes a pack folder: records the size and SHA-256 of every file the manifest names and writes manifest.json.</summary>
public static class PackWriter
{
    /// <summary>
    /// Writes <c>manifest.json</c> into <paramref name="directory"/> for <paramref name="draft"/> with its <c>files</c>
    /// list replaced by the component files plus <paramref name="extraFiles"/> (e.g. a calibration report), each hashed
    /// now. Returns the manifest written.
    /// </summary>
    public static PackManifest WriteManifest(string directory, PackManifest draft, params string[] extraFiles)
    {
        ArgumentNullException.ThrowIfNull(draft);
        ArgumentNullException.ThrowIfNull(extraFiles);
        var names = draft.ComponentFiles().Select(c => c.File).Concat(extraFiles).Distinct(StringComparer.Ordinal).ToList();
        var manifest = draft with { Files = names.Select(n => ModelPack.Describe(directory, n)).ToList() };
        // Round-trip through the reader so that a pack is never written with a manifest this build would reject.
        byte[] bytes = PackManifestJson.ToUtf8(manifest);
        PackManifestJson.Parse(bytes, Path.Combine(directory, PackManifest.FileName));
        AtomicFile.WriteAllBytes(Path.Combine(directory, PackManifest.FileName), bytes);
        return manifest;
    }
}
