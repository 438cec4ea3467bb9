using System.Runtime.InteropServices;
using EdgeAvsr.Quantize.Gguf;
using EdgeAvsr.Runtime.Formats.Gguf;

namespace EdgeAvsr.Quantize.Conversion;

/// <summary>Turns float32 rows into the bytes of a ggml tensor type, rows split across threads.</summary>
public static class GgmlEncoder
{
    public static byte[] Encode(GgmlType type, float[] data, long rowLength, int threads)
    {
        ArgumentNullException.ThrowIfNull(data);
        long rows = rowLength == 0 ? 0 : data.LongLength / rowLength;
        long rowBytes = GgmlTypes.RowSize(type, rowLength);
        var output = new byte[checked(rowBytes * rows)];
        if (type == GgmlType.F32)
        {
            MemoryMarshal.AsBytes(data.AsSpan()).CopyTo(output);
            return output;
        }
        int workers = Math.Max(1, Math.Min(threads, (int)Math.Min(rows, int.MaxValue)));
        long rowsPerChunk = Math.Max(1, Math.Min(rows, Math.Max(1, 65536 / Math.Max(1, rowLength))));
        long chunks = (rows + rowsPerChunk - 1) / rowsPerChunk;
        Parallel.For(0L, chunks, new ParallelOptions { MaxDegreeOfParallelism = workers }, chunk =>
        {
            long r0 = chunk * rowsPerChunk;
            long r1 = Math.Min(rows, r0 + rowsPerChunk);
            var src = data.AsSpan((int)(r0 * rowLength), (int)((r1 - r0) * rowLength));
            var dst = output.AsSpan((int)(r0 * rowBytes), (int)((r1 - r0) * rowBytes));
            EncodeRows(type, src, dst);
        });
        return output;
    }

    /// <summary>
    /// Writes the GGUF with every tensor <paramref name="writer"/> holds, in order: the float32 values of tensor i
    /// from <paramref name="read"/>, encoded to the type it was added with, one tensor in memory at a time.
    /// </summary>
    public static void WriteTensors(GgufWriter writer, string path, Func<int, float[]> read, int threads, IProgress<ConversionProgress>? progress)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(read);
        var tensors = writer.Tensors;
        long total = writer.DataSize;
        writer.Write(path, data =>
        {
            long done = 0;
            for (int i = 0; i < tensors.Count; i++)
            {
                var t = tensors[i];
                progress?.Report(new ConversionProgress(i, tensors.Count, done, total, t.Name));
                float[] values = read(i);
                if (t.Type == GgmlType.F32)
                {
                    WriteF32(data, values);
                }
                else
                {
                    data.WriteTensor(Encode(t.Type, values, t.Ne[0], threads));
                }
                done += GgufLayout.Pad(t.ByteSize, writer.Alignment);
                ReleaseLargeBuffers(plannedBytes: t.ElementCount * sizeof(float));
            }
            progress?.Report(new ConversionProgress(tensors.Count, tensors.Count, total, total, ""));
        });
    }

    /// <summary>
    /// After a large tensor, collects its (large-object-heap) buffers at once, so the process stays near
    /// the largest tensor instead of letting the GC budget grow to several of them.
    /// </summary>
    public static void ReleaseLargeBuffers(long plannedBytes)
    {
        if (plannedBytes >= 1L << 24)
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: false);
        }
    }

    /// <summary>Writes float32 values as the current tensor's bytes, in pieces (a tensor may exceed 2 GiB).</summary>
    public static void WriteF32(GgufDataWriter data, float[] values)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(values);
        const int piece = 1 << 26;
        for (long i = 0; i < values.LongLength; i += piece)
        {
            int n = (int)Math.Min(piece, values.LongLength - i);
            data.Write(MemoryMarshal.AsBytes(values.AsSpan((int)i, n)));
        }
    }

    /// <summary>Encodes whole rows (whole blocks) of <paramref name="src"/> into <paramref name="dst"/>.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void EncodeRows(GgmlType type, ReadOnlySpan<float> src, Span<byte> dst)
    {
        switch (type)
        {
            case GgmlType.F32:
                MemoryMarshal.AsBytes(src).CopyTo(dst);
                break;
            case GgmlType.F16:
                var halves = MemoryMarshal.Cast<byte, Half>(dst);
                for (int i = 0; i < src.Length; i++)
                {
                    halves[i] = (Half)src[i];
                }
                break;
            default:
                GgmlQuantizers.Quantize(type, src, dst);
                break;
        }
    }
}
