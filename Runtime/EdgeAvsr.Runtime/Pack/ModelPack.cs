using System.Security.Cryptography;

namespace EdgeAvsr.Runtime.Pack;

/// <summary>
/// An opened model pack: the manifest read and checked (docs/model-pack.md), every file it lists present with the
/// recorded size (and SHA-256 when asked). Nothing is loaded: <see cref="PackLoader"/> opens the components and
/// checks them against the manifest and against each other.
/// </summary>
public sealed class ModelPack
{
    private ModelPack(string directory, PackManifest manifest)
    {
        Directory = directory;
        Manifest = manifest;
    }

    /// <summary>The pack folder as a full path.</summary>
    public string Directory { get; }

    public PackManifest Manifest { get; }

    public string PathOf(string relative) => Path.Combine(Directory, relative);

    /// <summary>The size the manifest records for <paramref name="relative"/> (checked against the file by <see cref="Open"/>).</summary>
    public long BytesOf(string relative) => Manifest.Files.First(f => f.Path == relative).Bytes;

    /// <summary>Reads the manifest and checks every file it lists; a problem is an <see cref="EdgeAvsrException"/> naming the file.</summary>
    public static ModelPack Open(string directory, ModelPackOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        options ??= new ModelPackOptions();
        if (!System.IO.Directory.Exists(directory))
        {
            throw new EdgeAvsrException($"{directory}: no such model pack folder");
        }
        var manifest = PackManifestJson.Read(Path.Combine(directory, PackManifest.FileName));
        CheckFiles(directory, manifest, options.VerifyHashes);
        return new ModelPack(Path.GetFullPath(directory), manifest);
    }

    /// <summary>SHA-256 of a file as 64 lowercase hex digits.</summary>
    public static string Sha256(string path)
    {
        using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(SHA256.HashData(s));
    }

    /// <summary>The <see cref="PackFile"/> entry (size and SHA-256) of <paramref name="relative"/> inside <paramref name="directory"/>.</summary>
    public static PackFile Describe(string directory, string relative)
    {
        string path = Path.Combine(directory, relative);
        if (!File.Exists(path))
        {
            throw new EdgeAvsrException($"{path}: no such file");
        }
        return new PackFile(relative, new FileInfo(path).Length, Sha256(path));
    }

    private static void CheckFiles(string directory, PackManifest m, bool verify)
    {
        foreach (var f in m.Files)
        {
            string path = Path.Combine(directory, f.Path);
            if (!File.Exists(path))
            {
                throw new EdgeAvsrException($"{path}: missing; the pack's manifest lists it ({f.Bytes} bytes)");
            }
            long size = new FileInfo(path).Length;
            if (size != f.Bytes)
            {
                throw new EdgeAvsrException($"{path}: {size} bytes, the manifest records {f.Bytes}; the file was changed or truncated");
            }
            if (verify)
            {
                string sha = Sha256(path);
                if (sha != f.Sha256)
                {
                    throw new EdgeAvsrException($"{path}: SHA-256 {sha} does not match the manifest's {f.Sha256}; the file was changed or corrupted");
                }
            }
        }
    }
}
