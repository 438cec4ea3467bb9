using EdgeAvsr.Runtime.Formats.Gguf;

namespace EdgeAvsr.Runtime.Tests.Formats;

/// <summary>GGUF reader cases found by fuzzing (fuzz/regressions/gguf).</summary>
public class GgufReaderTests
{
    [Fact]
    public void NoTensors_MetadataEndingInsideTheAlignmentPadding_OpensWithNoData()
    {
        // Header, one key 'general.architecture' = "llama": 62 bytes, not a multiple of 32, and nothing after it.
        // The data section would start at byte 64, past the end: with no tensors that is no error (it threw
        // InvalidOperationException from an empty First()).
        using var dir = new TempDir();
        var b = new List<byte>([.. "GGUF"u8, 3, 0, 0, 0]);
        b.AddRange(BitConverter.GetBytes(0L));
        b.AddRange(BitConverter.GetBytes(1L));
        b.AddRange(BitConverter.GetBytes(20UL));
        b.AddRange("general.architecture"u8.ToArray());
        b.AddRange(BitConverter.GetBytes((int)GgufValueType.String));
        b.AddRange(BitConverter.GetBytes(5UL));
        b.AddRange("llama"u8.ToArray());
        string path = dir.File("no-tensors.gguf");
        File.WriteAllBytes(path, [.. b]);

        using var file = GgufFile.Open(path);
        Assert.Empty(file.Tensors);
        Assert.Equal("llama", file.Find("general.architecture")!.AsString());
        Assert.Equal(b.Count, file.FileLength);
        Assert.True(file.DataOffset > file.FileLength);
        // The validator still refuses it, as a file without a model: one clear error.
        Assert.Throws<EdgeAvsrException>(() => LlamaGgufValidator.Validate(file));
    }
}
