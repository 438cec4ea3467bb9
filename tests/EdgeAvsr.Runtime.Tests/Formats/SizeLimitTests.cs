using System.Buffers.Binary;
using System.Text;
using EdgeAvsr.Runtime.Audio;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Formats.Gguf;

namespace EdgeAvsr.Runtime.Tests.Formats;

/// <summary>
/// A tiny file whose size fields claim something huge is refused, naming the field, before anything of that size is
/// allocated: each read is measured with the thread's allocation counter and must stay under 1 MiB.
/// </summary>
public class SizeLimitTests
{
    private const long AllocationBudget = 1 << 20;

    private static byte[] Gguf(long tensors, long kv, params byte[][] rest)
    {
        var b = new List<byte>([.. "GGUF"u8, 3, 0, 0, 0]);
        b.AddRange(BitConverter.GetBytes(tensors));
        b.AddRange(BitConverter.GetBytes(kv));
        foreach (byte[] part in rest)
        {
            b.AddRange(part);
        }
        b.AddRange(new byte[64]);
        return [.. b];
    }

    private static byte[] U64(ulong v) => BitConverter.GetBytes(v);

    private static byte[] I32(int v) => BitConverter.GetBytes(v);

    private static byte[] Safetensors(ulong? headerLength, string json)
    {
        byte[] header = Encoding.UTF8.GetBytes(json);
        var b = new byte[8 + header.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(b, headerLength ?? (ulong)header.Length);
        header.CopyTo(b, 8);
        return b;
    }

    public static TheoryData<string, string, byte[], string> Claims => new()
    {
        { "gguf", "tensors", Gguf(1L << 62, 0), "claims 4611686018427387904 tensors, more than the file (88 bytes) can hold or the limit of 1048576" },
        { "gguf", "metadata", Gguf(0, 1L << 40), "claims 1099511627776 metadata entries" },
        { "gguf", "array", Gguf(0, 1, U64(1), "k"u8.ToArray(), I32(9), I32(0), U64(1UL << 40)), "key 'k' claims 1099511627776 array elements" },
        { "gguf", "string", Gguf(0, 1, U64(1UL << 50)), "metadata key #0 claims 1125899906842624 bytes" },
        { "safetensors", "header", Safetensors(1UL << 40, "{}"), "header length 1099511627776 exceeds the file (10 bytes) or the 100 MB limit" },
        { "safetensors", "tensor", Safetensors(null, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1073741824,1024],\"data_offsets\":[0,4398046511104]}}"),
            "data_offsets end at 4398046511104, past the 0 data bytes" },
        { "npy", "header", [0x93, .. "NUMPY"u8, 2, 0, 0xF0, 0xFF, 0xFF, 0xFF, .. "{}"u8], "header length 4294967280 exceeds the file" },
        { "npy", "shape", NpyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }"),
            "needs 4398046511104 data bytes, the file holds 4" },
        { "wav", "data", Wav(0x7FFFFFF0), "WAV data chunk declares 2147483632 bytes, the file holds 4 after it" },
    };

    private static byte[] NpyHeader(string dict)
    {
        byte[] header = Encoding.ASCII.GetBytes(dict + "\n");
        return [0x93, .. "NUMPY"u8, 1, 0, (byte)header.Length, (byte)(header.Length >> 8), .. header, 0, 0, 0, 0];
    }

    private static byte[] Wav(uint dataBytes)
    {
        var b = new byte[48];
        "RIFF"u8.CopyTo(b);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4), 40);
        "WAVEfmt "u8.CopyTo(b.AsSpan(8));
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(16), 16);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(20), 1);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(22), 1);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(24), 16000);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(28), 32000);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(32), 2);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(34), 16);
        "data"u8.CopyTo(b.AsSpan(36));
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(40), dataBytes);
        return b;
    }

    [Theory]
    [MemberData(nameof(Claims))]
    public void TinyFileClaimingAHugeSize_IsRefused_WithoutAllocatingIt(string format, string field, byte[] bytes, string expected)
    {
        using var dir = new TempDir();
        string path = dir.File($"{field}.{format}");
        File.WriteAllBytes(path, bytes);
        Action read = format switch
        {
            "gguf" => () => GgufFile.Open(path).Dispose(),
            "safetensors" => () => SafetensorsFile.Open(path).Dispose(),
            "npy" => () => NpyFile.ReadFloat32(path),
            _ => () => WavReader.TryRead(path, out _, out _),
        };
        Assert.Throws<EdgeAvsrException>(read); // a first refusal, so the JIT's own allocations are not counted below
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<EdgeAvsrException>(read);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
        Assert.True(allocated < AllocationBudget, $"{allocated} bytes allocated to refuse it");
    }
}
