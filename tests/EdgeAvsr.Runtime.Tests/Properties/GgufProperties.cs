using EdgeAvsr.Quantize.Gguf;
using EdgeAvsr.Runtime.Formats.Gguf;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace EdgeAvsr.Runtime.Tests.Properties;

/// <summary><see cref="GgufWriter"/> to <see cref="GgufFile"/>: metadata of every value type, tensor infos and data.</summary>
public class GgufProperties
{
    private static readonly GgufValueType[] s_scalarTypes = [.. Enum.GetValues<GgufValueType>().Where(t => t != GgufValueType.Array)];

    private static readonly GgmlType[] s_tensorTypes = Enum.GetValues<GgmlType>();

    public sealed record TensorCase(string Name, GgmlType Type, long[] Ne, byte[] Data)
    {
        public override string ToString() => $"{Gens.Describe(Name)} {Type} [{string.Join(", ", Ne)}] ({Data.Length} bytes)";
    }

    public sealed record GgufCase(uint Alignment, KeyValuePair<string, GgufValue>[] Metadata, TensorCase[] Tensors)
    {
        public override string ToString() => $"alignment {Alignment}, metadata [{string.Join("; ", Metadata.Select(m =>
            $"{Gens.Describe(m.Key)}: {m.Value.Describe()} {Gens.Describe(m.Value.ToString())}"))}], tensors [{string.Join("; ", Tensors.Select(t =>
            t.ToString()))}]";
    }

    /// <summary>A value of <paramref name="type"/>: the extremes of each width half the time, else random bits.</summary>
    private static object Scalar(GgufValueType type, Random r)
    {
        bool edge = r.Next(2) == 0;
        long bits = r.NextInt64(long.MinValue, long.MaxValue);
        int pick = r.Next(3);
        return type switch
        {
            GgufValueType.UInt8 => edge ? (pick == 0 ? byte.MinValue : byte.MaxValue) : (byte)bits,
            GgufValueType.Int8 => edge ? (pick == 0 ? sbyte.MinValue : sbyte.MaxValue) : (sbyte)bits,
            GgufValueType.UInt16 => edge ? (pick == 0 ? ushort.MinValue : ushort.MaxValue) : (ushort)bits,
            GgufValueType.Int16 => edge ? (pick == 0 ? short.MinValue : short.MaxValue) : (short)bits,
            GgufValueType.UInt32 => edge ? (pick == 0 ? uint.MinValue : uint.MaxValue) : (uint)bits,
            GgufValueType.Int32 => edge ? (pick == 0 ? int.MinValue : int.MaxValue) : (int)bits,
            GgufValueType.UInt64 => edge ? (pick == 0 ? ulong.MinValue : ulong.MaxValue) : (ulong)bits,
            GgufValueType.Int64 => edge ? (pick == 0 ? long.MinValue : long.MaxValue) : bits,
            GgufValueType.Float32 => BitConverter.Int32BitsToSingle(edge ? new[] { 0x7FC00001, unchecked((int)0x80000000), 0x00000001 }[pick] : (int)bits),
            GgufValueType.Float64 => BitConverter.Int64BitsToDouble(edge ? new[] { 0x7FF0000000000001, long.MinValue, 1L }[pick] : bits),
            GgufValueType.Bool => (bits & 1) == 1,
            _ => Gens.Text(r, 12),
        };
    }

    private static GgufValue Value(GgufValueType type, bool array, Random r)
    {
        if (!array)
        {
            return GgufValue.FromRaw(type, type, Scalar(type, r));
        }
        var values = Array.CreateInstance(GgufValue.ClrType(type), r.Next(6));
        for (int i = 0; i < values.Length; i++)
        {
            values.SetValue(Scalar(type, r), i);
        }
        return GgufValue.FromArray(type, values);
    }

    private static readonly Gen<KeyValuePair<string, GgufValue>> s_entry =
        from key in Gens.NonEmptyText(8).Where(k => k != "general.alignment")
        from type in Gen.Elements(s_scalarTypes)
        from array in Gen.Elements(false, true)
        from seed in Gen.Choose(0, int.MaxValue)
        select new KeyValuePair<string, GgufValue>(key, Value(type, array, new Random(seed)));

    private static readonly Gen<TensorCase> s_tensor =
        from name in Gens.NonEmptyText(15)
        from type in Gen.Elements(s_tensorTypes)
        from rank in Gen.Choose(1, 4)
        from rows in Gen.Choose(0, 2)
        from rest in Gen.ArrayOf(Gen.Choose(0, 3).Select(d => (long)d), rank - 1)
        from seed in Gen.Choose(0, int.MaxValue)
        let ne = (long[])[rows * (long)GgmlTypes.BlockSize(type), .. rest]
        select new TensorCase(name, type, ne, Gens.Bytes(seed, GgmlTypes.TensorSize(type, ne)));

    private static readonly Gen<GgufCase> s_gguf =
        from alignment in Gen.Elements(1u, 2u, 8u, 32u, 64u, 256u)
        from entries in Gen.Choose(0, 8).SelectMany(n => Gen.ArrayOf(s_entry, n))
        from tensors in Gen.Choose(0, 5).SelectMany(n => Gen.ArrayOf(s_tensor, n))
        select new GgufCase(alignment, [.. entries.DistinctBy(e => e.Key, StringComparer.Ordinal)],
            [.. tensors.DistinctBy(t => t.Name, StringComparer.Ordinal)]);

    /// <summary>
    /// Every metadata value type as a scalar and as an array (empty ones too), in order, bit for bit (NaN payloads, -0.0,
    /// each integer width's extremes, strings with unicode and control characters); the alignment; each tensor's name,
    /// ggml type, dimensions, offset (contiguous, aligned) and data bytes, zero-size tensors included.
    /// </summary>
    [Property(MaxTest = 120, Replay = "(19190009,19190011)")]
    public Property Gguf_WriterToReader_RoundTrip() => Prop.ForAll(Arb.From(s_gguf), c =>
    {
        using var dir = new TempDir();
        var writer = new GgufWriter(c.Alignment);
        foreach (var (k, v) in c.Metadata)
        {
            writer.Set(k, v);
        }
        foreach (var t in c.Tensors)
        {
            writer.AddTensor(t.Name, t.Type, t.Ne);
        }
        string path = dir.File("m.gguf");
        writer.Write(path, data =>
        {
            foreach (var t in c.Tensors.Where(t => t.Data.Length > 0))
            {
                data.WriteTensor(t.Data);
            }
        });
        using var file = GgufFile.Open(path);
        Assert.Equal(3u, file.Version);
        Assert.Equal(c.Alignment, file.Alignment);
        Assert.Equal(writer.Metadata.Select(m => m.Key), file.Metadata.Select(m => m.Key));
        Assert.Equal(c.Alignment != GgufLayout.DefaultAlignment, file.TryGet("general.alignment", out _));
        foreach (var (k, v) in c.Metadata)
        {
            Assert.True(file.TryGet(k, out var read), $"metadata key '{Gens.Describe(k)}' is missing");
            Assert.True(v.Equals(read), $"'{Gens.Describe(k)}': wrote {v.Describe()} {Gens.Describe(v.ToString())}, read {read.Describe()} " +
                $"{Gens.Describe(read.ToString())}");
        }
        Assert.Equal(0, file.DataOffset % c.Alignment);
        Assert.Equal(c.Tensors.Length, file.Tensors.Count);
        for (int i = 0; i < c.Tensors.Length; i++)
        {
            var expected = c.Tensors[i];
            var t = file.Tensors[i];
            Assert.Equal(expected.Name, t.Name);
            Assert.Equal(expected.Type, t.Type);
            Assert.Equal(expected.Ne, t.Ne);
            Assert.Equal(writer.Tensors[i].Offset, t.Offset);
            Assert.Equal(0, t.Offset % c.Alignment);
            Assert.Equal(expected.Data, file.ReadTensor(t));
        }
    });
}
