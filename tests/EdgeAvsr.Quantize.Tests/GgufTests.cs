using System.Buffers.Binary;
using System.Runtime.InteropServices;
using EdgeAvsr.Quantize.Gguf;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Formats.Gguf;

namespace EdgeAvsr.Quantize.Tests;

public sealed class GgufTests
{
    private static GgufWriter SampleWriter()
    {
        var w = new GgufWriter();
        w.Set("u8", GgufValue.FromUInt8(200));
        w.Set("i8", GgufValue.FromInt8(-5));
        w.Set("u16", GgufValue.FromUInt16(60000));
        w.Set("i16", GgufValue.FromInt16(-30000));
        w.Set("u32", GgufValue.FromUInt32(4_000_000_000));
        w.Set("i32", GgufValue.FromInt32(-7));
        w.Set("f32", GgufValue.FromFloat32(1.5f));
        w.Set("bool", GgufValue.FromBool(true));
        w.Set("str", GgufValue.FromString("héllo"));
        w.Set("u64", GgufValue.FromUInt64(ulong.MaxValue));
        w.Set("i64", GgufValue.FromInt64(long.MinValue));
        w.Set("f64", GgufValue.FromFloat64(Math.PI));
        w.Set("arr.str", GgufValue.FromStrings(["a", "", "ccc"]));
        w.Set("arr.i32", GgufValue.FromInt32s([1, -2, 3]));
        w.Set("arr.f32", GgufValue.FromFloat32s([0.25f]));
        w.Set("arr.bool", GgufValue.FromArray(GgufValueType.Bool, new[] { true, false }));
        return w;
    }

    [Fact]
    public void Writer_and_reader_round_trip_every_value_type_and_tensor_data()
    {
        using var dir = new TempDir();
        var w = SampleWriter();
        w.AddTensor("a", GgmlType.F32, [3, 2]);
        w.AddTensor("b", GgmlType.F16, [5]);
        w.AddTensor("c", GgmlType.Q8_0, [32, 1]);
        var a = new float[] { 1, 2, 3, 4, 5, 6 };
        var b = new Half[] { (Half)1, (Half)2, (Half)3, (Half)4, (Half)5 };
        var c = Enumerable.Range(0, 34).Select(i => (byte)i).ToArray();
        string path = dir.File("t.gguf");
        w.Write(path, d =>
        {
            d.WriteTensor(MemoryMarshal.AsBytes(a.AsSpan()));
            d.Write(MemoryMarshal.AsBytes(b.AsSpan())[..4]);
            d.Write(MemoryMarshal.AsBytes(b.AsSpan())[4..]);
            d.WriteTensor(c);
        });
        using var f = GgufFile.Open(path);
        Assert.Equal(3u, f.Version);
        Assert.Equal(w.Metadata.Select(p => p.Key), f.Metadata.Select(p => p.Key));
        foreach (var (k, v) in w.Metadata)
        {
            Assert.Equal(v, f.Find(k));
        }
        Assert.Equal(0, f.DataOffset % 32);
        Assert.Equal([0L, 32L, 64L], f.Tensors.Select(t => t.Offset));
        Assert.Equal(a, MemoryMarshal.Cast<byte, float>(f.ReadTensor(f.Tensors[0])).ToArray());
        Assert.Equal(b, MemoryMarshal.Cast<byte, Half>(f.ReadTensor(f.Tensors[1])).ToArray());
        Assert.Equal(c, f.ReadTensor(f.Tensors[2]));
        Assert.Equal(f.DataOffset + 64 + 64, f.FileLength);
    }

    [Fact]
    public void Writer_leaves_no_file_when_tensor_data_is_incomplete()
    {
        using var dir = new TempDir();
        var w = SampleWriter();
        w.AddTensor("a", GgmlType.F32, [4]);
        w.AddTensor("b", GgmlType.F32, [4]);
        string path = dir.File("t.gguf");
        Assert.Throws<InvalidOperationException>(() => w.Write(path, d => d.WriteTensor(new byte[16])));
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    private static string Sample(TempDir dir)
    {
        var w = SampleWriter();
        w.AddTensor("a", GgmlType.F32, [8]);
        w.AddTensor("b", GgmlType.F32, [8]);
        string path = dir.File("s.gguf");
        w.Write(path, d =>
        {
            d.WriteTensor(new byte[32]);
            d.WriteTensor(new byte[32]);
        });
        return path;
    }

    [Fact]
    public void Reader_refuses_truncated_and_corrupt_files_with_clear_messages()
    {
        using var dir = new TempDir();
        string path = Sample(dir);
        byte[] good = File.ReadAllBytes(path);

        string Refuse(byte[] bytes)
        {
            string p = dir.File("bad.gguf");
            File.WriteAllBytes(p, bytes);
            var e = Assert.Throws<EdgeAvsrException>(() => GgufFile.Open(p).Dispose());
            Assert.Contains("bad.gguf", e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', e.Message);
            return e.Message;
        }

        Assert.Contains("truncated", Refuse(good[..^10]), StringComparison.Ordinal);
        Assert.Contains("truncated", Refuse(good[..200]), StringComparison.Ordinal);
        Assert.Contains("magic", Refuse([.. "GGML"u8, .. good[4..]]), StringComparison.Ordinal);
        var badVersion = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(badVersion.AsSpan(4), 9);
        Assert.Contains("version 9", Refuse(badVersion), StringComparison.Ordinal);
        var hugeKv = (byte[])good.Clone();
        BinaryPrimitives.WriteInt64LittleEndian(hugeKv.AsSpan(16), long.MaxValue / 2);
        Assert.Contains("metadata entries", Refuse(hugeKv), StringComparison.Ordinal);
        // The first key's length field (right after the header) claims more bytes than the file has.
        var hugeString = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(hugeString.AsSpan(24), 1UL << 40);
        Assert.Contains("metadata key #0", Refuse(hugeString), StringComparison.Ordinal);
        // A string array whose count cannot fit in the file.
        int arr = IndexOf(good, "arr.str"u8) + 7 + 4 + 4;
        var hugeArray = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(hugeArray.AsSpan(arr), 1UL << 50);
        Assert.Contains("array elements", Refuse(hugeArray), StringComparison.Ordinal);
        // Tensor "b" offset moved off the contiguous layout.
        int bInfo = IndexOf(good, [1, 0, 0, 0, 0, 0, 0, 0, (byte)'b', 1, 0, 0, 0]) + 8 + 1 + 4 + 8 + 4;
        var badOffset = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(badOffset.AsSpan(bInfo), 64);
        Assert.Contains("contiguous", Refuse(badOffset), StringComparison.Ordinal);
    }

    private static int IndexOf(byte[] hay, ReadOnlySpan<byte> needle) => hay.AsSpan().IndexOf(needle);
}
