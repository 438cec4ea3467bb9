using System.Runtime.InteropServices;
using EdgeAvsr.Quantize.Conversion;
using EdgeAvsr.Runtime.Formats.Gguf;
using EdgeAvsr.Runtime.Interop;

namespace EdgeAvsr.Quantize.Tests;

/// <summary>Our block quantizers against ggml's own ggml_quantize_chunk (no imatrix = the *_ref code) on hard inputs.</summary>
public sealed unsafe class QuantizerBlockTests
{
    public static TheoryData<GgmlType> Types => new() { GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K };

    /// <summary>Rows of 256 from several distributions: gaussian, uniform, heavy outliers, all-positive, zeros, constants, tiny values, sparse.</summary>
    private static float[] Inputs(int rows)
    {
        var rng = new Random(77);
        var data = new float[rows * 256];
        for (int r = 0; r < rows; r++)
        {
            var row = data.AsSpan(r * 256, 256);
            int kind = r % 9;
            for (int i = 0; i < 256; i++)
            {
                double g = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
                row[i] = kind switch
                {
                    0 => (float)(g * 0.02),
                    1 => (float)(rng.NextDouble() * 2 - 1),
                    2 => (float)(rng.Next(50) == 0 ? g * 40 : g),
                    3 => (float)Math.Abs(g) + 0.5f,
                    4 => 0f,
                    5 => 0.3f,
                    6 => (float)(g * 1e-20),
                    7 => rng.Next(10) == 0 ? (float)g : 0f,
                    _ => (float)Math.Round(g * 4) / 4,
                };
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Blocks_are_identical_to_ggml_quantize_chunk(GgmlType type)
    {
        NativeEngines.InitializeLlama();
        var chunk = (delegate* unmanaged[Cdecl]<int, float*, void*, long, long, long, float*, nuint>)NativeEngines.Llama.GetExport("ggml_quantize_chunk");
        const int rows = 900;
        float[] src = Inputs(rows);
        long rowBytes = GgmlTypes.RowSize(type, 256);
        var expected = new byte[rows * rowBytes];
        fixed (float* s = src)
        fixed (byte* d = expected)
        {
            chunk((int)type, s, d, 0, rows, 256, null);
        }
        byte[] actual = GgmlEncoder.Encode(type, src, 256, threads: 2);
        for (int r = 0; r < rows; r++)
        {
            var e = expected.AsSpan((int)(r * rowBytes), (int)rowBytes);
            var a = actual.AsSpan((int)(r * rowBytes), (int)rowBytes);
            Assert.True(e.SequenceEqual(a), $"{GgmlTypes.Name(type)} row {r} (kind {r % 9}) differs at byte {e.CommonPrefixLength(a)}");
        }
    }
}
