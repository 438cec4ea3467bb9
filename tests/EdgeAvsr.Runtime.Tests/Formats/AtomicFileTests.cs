using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Runtime.Tests.Formats;

/// <summary>A write that fails part way (a full disk, injected at the stream every writer writes through) leaves no partial file.</summary>
public class AtomicFileTests
{
    private static string[] Listing(TempDir dir) => [.. Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];

    [Fact]
    public void DiskFullPartWay_LeavesNoPartialFile_TheOldOneIntact_AndSaysSo()
    {
        using var dir = new TempDir();
        string target = dir.File("projector.int8.safetensors");
        File.WriteAllText(target, "the previous complete file");
        var e = Assert.Throws<EdgeAvsrException>(() => AtomicFile.Write(target, stream =>
        {
            stream.Write(new byte[100_000]);
            // What a FileStream throws on ENOSPC: an IOException whose HResult is the errno (28).
            throw new IOException("No space left on device", 28);
        }));
        Assert.Equal($"{target}: cannot write: the disk is full (No space left on device); nothing was written and the file as it was before is " +
            "unchanged", e.Message);
        Assert.Equal(["projector.int8.safetensors"], Listing(dir));
        Assert.Equal("the previous complete file", File.ReadAllText(target));
    }

    [Fact]
    public void DiskFull_ForANewFile_LeavesNothing()
    {
        using var dir = new TempDir();
        var writer = new SafetensorsWriter();
        writer.AddFloat32("w", [4], [1, 2, 3, 4]);
        var e = Assert.Throws<EdgeAvsrException>(() => AtomicFile.Write(dir.File("new.safetensors"), stream =>
        {
            writer.WriteTo(stream);
            throw new IOException("Disk quota exceeded", 122);
        }));
        Assert.Contains("the disk is full", e.Message, StringComparison.Ordinal);
        Assert.Empty(Listing(dir));
    }
}
