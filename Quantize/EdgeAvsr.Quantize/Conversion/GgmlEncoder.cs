using System.Runtime.InteropServices;
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

    /// <summary>Encodes whole rows (whole blocks) of <paramref name="src"/> into <paramref name="dst"/>.</summary>
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
