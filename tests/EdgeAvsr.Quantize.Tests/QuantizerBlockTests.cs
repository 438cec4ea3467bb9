using EdgeAvsr.Quantize.Conversion;
using EdgeAvsr.Runtime.Formats.Gguf;

namespace EdgeAvsr.Quantize.Tests;

/// <summary>
/// Our block quantizers (vector paths included) against a plain scalar transcription of ggml's reference code
/// (<see cref="ReferenceQuantizers"/>) on hard inputs. llama.cpp's own quantizer sees the same kinds of rows in
/// <see cref="QuantizeIdentityTests"/> (the "hard" model), through whole files.
/// </summary>
public sealed class QuantizerBlockTests
{
    public static TheoryData<GgmlType> Types => new()
    {
        GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
    };

    /// <summary>The kinds of rows <see cref="HardValues"/> cycles through.</summary>
    internal const int RowKinds = 9;

    /// <summary>
    /// Values of row <paramref name="row"/> (of <paramref name="length"/>) by kind (row mod 9): gaussian, uniform, heavy outliers,
    /// all-positive, zeros, constants, tiny values, sparse, values on a quarter grid (many exact ties).
    /// </summary>
    internal static void HardValues(Random rng, int row, Span<float> values)
    {
        ArgumentNullException.ThrowIfNull(rng);
        int kind = row % RowKinds;
        for (int i = 0; i < values.Length; i++)
        {
            double g = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            values[i] = kind switch
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

    private static float[] Inputs(int rows, int length)
    {
        var rng = new Random(77);
        var data = new float[rows * length];
        for (int r = 0; r < rows; r++)
        {
            HardValues(rng, r, data.AsSpan(r * length, length));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Blocks_are_identical_to_the_reference_algorithm(GgmlType type)
    {
        const int rows = 900, length = 256;
        float[] src = Inputs(rows, length);
        long rowBytes = GgmlTypes.RowSize(type, length);
        byte[] expected = ReferenceQuantizers.Quantize(type, src);
        byte[] actual = GgmlEncoder.Encode(type, src, length, threads: 2);
        Assert.Equal(expected.Length, actual.Length);
        for (int r = 0; r < rows; r++)
        {
            var e = expected.AsSpan((int)(r * rowBytes), (int)rowBytes);
            var a = actual.AsSpan((int)(r * rowBytes), (int)rowBytes);
            Assert.True(e.SequenceEqual(a), $"{GgmlTypes.Name(type)} row {r} (kind {r % RowKinds}) differs at byte {e.CommonPrefixLength(a)}");
        }
    }

    /// <summary>Hand-checked Q5_0 / Q5_1 blocks: the 5-bit layout (low nibbles, then bit 4 of quant j at bit j of qh) and the scales.</summary>
    [Fact]
    public void Five_bit_blocks_have_ggml_layout()
    {
        // x_j = j - 16 for j = 0..31: Q5_0 takes max = -16 (the first largest magnitude), d = 1, quant = round-half-up(x/d + 16).
        var x = Enumerable.Range(0, 32).Select(j => (float)(j - 16)).ToArray();
        byte[] q50 = GgmlEncoder.Encode(GgmlType.Q5_0, x, 32, threads: 1);
        Assert.Equal(22, q50.Length);
        Assert.Equal(1f, (float)BitConverter.ToHalf(q50, 0));
        // quant j = j (x/d = j - 16): quants 16..31 have bit 4 set, so qh = 0xFFFF0000.
        Assert.Equal(0xFFFF0000u, BitConverter.ToUInt32(q50, 2));
        for (int j = 0; j < 16; j++)
        {
            Assert.Equal((byte)(j | (j << 4)), q50[6 + j]);
        }
        // Q5_1 of the same block: min = -16, d = 31/31 = 1, quant = x - min = j.
        byte[] q51 = GgmlEncoder.Encode(GgmlType.Q5_1, x, 32, threads: 1);
        Assert.Equal(24, q51.Length);
        Assert.Equal(1f, (float)BitConverter.ToHalf(q51, 0));
        Assert.Equal(-16f, (float)BitConverter.ToHalf(q51, 2));
        Assert.Equal(0xFFFF0000u, BitConverter.ToUInt32(q51, 4));
        for (int j = 0; j < 16; j++)
        {
            Assert.Equal((byte)(j | (j << 4)), q51[8 + j]);
        }
    }
}
