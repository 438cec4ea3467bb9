using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Synthetic;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace EdgeAvsr.Runtime.Tests.Properties;

/// <summary>
/// Round trips of the tensor files: whatever our safetensors writers and <see cref="NpyFile.Write(string, ReadOnlySpan{float}, long[])"/>
/// write, our readers give back unchanged (names, dtypes, shapes, bytes bit for bit). Fixed seeds (Replay) and bounded case
/// counts keep every run the same and short.
/// </summary>
public class TensorFileProperties
{
    public sealed record Tensor(string Name, TensorDType DType, long[] Shape, byte[] Data)
    {
        public override string ToString() => $"{Gens.Describe(Name)} {DType} {TensorDTypes.FormatShape(Shape)} ({Data.Length} bytes)";
    }

    public sealed record SafetensorsCase(bool Streamed, Tensor[] Tensors, (string Key, string Value)[] Metadata)
    {
        public override string ToString() => $"{(Streamed ? "stream writer" : "writer")}: [{string.Join("; ", Tensors.Select(t => t.ToString()))}] " +
            $"metadata [{string.Join(", ", Metadata.Select(m => Gens.Describe(m.Key) + "=" + Gens.Describe(m.Value)))}]";
    }

    private static readonly Gen<Tensor> s_tensor =
        from name in Gen.Frequency((6, Gens.Text(8)), (1, Gen.Constant("w")))
        from dtype in Gen.Elements(Enum.GetValues<TensorDType>())
        from shape in Gens.Shape(maxRank: 4, maxDim: 5)
        from seed in Gen.Choose(0, int.MaxValue)
        select new Tensor(name, dtype, shape, Gens.Bytes(seed, Gens.Elements(shape) * TensorDTypes.SizeOf(dtype)));

    private static readonly Gen<SafetensorsCase> s_safetensors =
        from streamed in Gen.Elements(false, true)
        from count in Gen.Choose(0, 6)
        from tensors in Gen.ArrayOf(s_tensor, count)
        from metaCount in Gen.Choose(0, 3)
        from metadata in Gen.ArrayOf(Gen.Zip(Gens.Text(6), Gens.Text(10)), metaCount)
        select new SafetensorsCase(streamed, tensors, [.. metadata.Select(m => (m.Item1, m.Item2))]);

    /// <summary>
    /// Both writers (the runtime's in-memory one and lab's streaming one) to <see cref="SafetensorsFile"/>: every tensor comes
    /// back with its name (unicode, quotes, control characters), dtype, shape (rank 0, zero-size dimensions) and bytes, at
    /// offsets in declaration order; metadata (last value of a key wins) comes back too. A name given twice is refused by
    /// the writer when it is declared, never written into a file the reader refuses.
    /// </summary>
    [Property(MaxTest = 150, Replay = "(19190001,19190003)")]
    public Property Safetensors_WritersToReader_RoundTrip() => Prop.ForAll(Arb.From(s_safetensors), c =>
    {
        using var dir = new TempDir();
        string path = dir.File("t.safetensors");
        bool duplicates = c.Tensors.Select(t => t.Name).Distinct(StringComparer.Ordinal).Count() < c.Tensors.Length;
        var declare = () => Write(c, path);
        if (duplicates)
        {
            Assert.Throws<ArgumentException>(declare);
            Assert.False(File.Exists(path));
            return;
        }
        declare();
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(c.Tensors.Length, file.Tensors.Count);
        long offset = -1;
        foreach (var expected in c.Tensors)
        {
            var t = file.Get(expected.Name);
            Assert.Equal(expected.DType, t.DType);
            Assert.Equal(expected.Shape, t.Shape);
            Assert.Equal(expected.Data.LongLength, t.ByteLength);
            Assert.True(t.FileOffset >= offset, $"'{expected.Name}' is stored before the tensor declared ahead of it");
            offset = t.FileOffset;
            Assert.Equal(expected.Data, file.ReadRaw(t));
        }
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in c.Metadata)
        {
            metadata[k] = v;
        }
        Assert.Equal(metadata.OrderBy(p => p.Key, StringComparer.Ordinal), file.Metadata.OrderBy(p => p.Key, StringComparer.Ordinal));
    });

    private static void Write(SafetensorsCase c, string path)
    {
        if (c.Streamed)
        {
            var stream = new SafetensorsStreamWriter();
            foreach (var (k, v) in c.Metadata)
            {
                stream.SetMetadata(k, v);
            }
            foreach (var t in c.Tensors)
            {
                stream.Add(t.Name, t.DType, t.Shape, s => s.Write(t.Data));
            }
            stream.Write(path);
            return;
        }
        var writer = new SafetensorsWriter();
        foreach (var (k, v) in c.Metadata)
        {
            writer.SetMetadata(k, v);
        }
        foreach (var t in c.Tensors)
        {
            writer.Add(t.Name, t.DType, t.Shape, t.Data);
        }
        writer.Write(path);
    }

    public sealed record NpyCase(long[] Shape, int[] Bits)
    {
        public override string ToString() => $"{TensorDTypes.FormatShape(Shape)}: [{string.Join(", ", Bits.Take(16).Select(b => $"0x{b:X8}"))}]";
    }

    private static readonly Gen<NpyCase> s_npy =
        from shape in Gens.Shape(maxRank: 5, maxDim: 6)
        from bits in Gen.ArrayOf(Gens.FloatBits(), (int)Gens.Elements(shape))
        select new NpyCase(shape, bits);

    /// <summary>
    /// <c>NpyFile.Write</c> to <c>ReadFloat32</c> and <c>ReadInt32</c>: the shape (rank 0 to 5, zero-size dimensions, the 1-D
    /// "(n,)" tuple) and every value bit for bit, NaN payloads (quiet and signalling), -0.0 and subnormals included.
    /// </summary>
    [Property(MaxTest = 150, Replay = "(19190005,19190007)")]
    public Property Npy_WriteThenRead_KeepsShapeAndEveryBit() => Prop.ForAll(Arb.From(s_npy), c =>
    {
        using var dir = new TempDir();
        float[] floats = [.. c.Bits.Select(BitConverter.Int32BitsToSingle)];
        NpyFile.Write(dir.File("f.npy"), floats, c.Shape);
        var f = NpyFile.ReadFloat32(dir.File("f.npy"));
        Assert.Equal(c.Shape, f.Shape);
        Assert.Equal(c.Bits, f.Data.Select(BitConverter.SingleToInt32Bits));
        NpyFile.Write(dir.File("i.npy"), c.Bits, c.Shape);
        var i = NpyFile.ReadInt32(dir.File("i.npy"));
        Assert.Equal(c.Shape, i.Shape);
        Assert.Equal(c.Bits, i.Data);
        // A file numpy itself reads: a version 1.0 header, the data 64-byte aligned, C order.
        byte[] bytes = File.ReadAllBytes(dir.File("f.npy"));
        Assert.Equal(1, bytes[6]);
        Assert.Equal(0, (bytes.Length - floats.Length * 4) % 64);
        Assert.Contains("'fortran_order': False", System.Text.Encoding.Latin1.GetString(bytes, 10, BitConverter.ToUInt16(bytes, 8)), StringComparison.Ordinal);
    });
}
