namespace EdgeAvsr.Runtime.Formats.Gguf;

/// <summary>Block geometry of the ggml types: <c>BlockSize</c> values share <c>TypeSize</c> bytes.</summary>
public static class GgmlTypes
{
    /// <summary>Block size and bytes per block, or false for a type EdgeAvsr does not know.</summary>
    public static bool TryGetTraits(int type, out int blockSize, out int typeSize)
    {
        (blockSize, typeSize) = type switch
        {
            0 => (1, 4),
            1 => (1, 2),
            2 => (32, 18),
            3 => (32, 20),
            6 => (32, 22),
            7 => (32, 24),
            8 => (32, 34),
            9 => (32, 36),
            10 => (256, 84),
            11 => (256, 110),
            12 => (256, 144),
            13 => (256, 176),
            14 => (256, 210),
            15 => (256, 292),
            20 => (32, 18),
            23 => (256, 136),
            24 => (1, 1),
            25 => (1, 2),
            26 => (1, 4),
            27 => (1, 8),
            28 => (1, 8),
            30 => (1, 2),
            _ => (0, 0),
        };
        return blockSize != 0;
    }

    public static int BlockSize(GgmlType type) => TryGetTraits((int)type, out int b, out _) ? b : throw new ArgumentOutOfRangeException(nameof(type));

    public static int TypeSize(GgmlType type) => TryGetTraits((int)type, out _, out int s) ? s : throw new ArgumentOutOfRangeException(nameof(type));

    /// <summary>Bytes of one row of <paramref name="rowLength"/> values (which must be a whole number of blocks).</summary>
    public static long RowSize(GgmlType type, long rowLength)
    {
        int b = BlockSize(type);
        if (rowLength % b != 0)
        {
            throw new ArgumentException($"row length {rowLength} is not a multiple of the {Name(type)} block size {b}");
        }
        return rowLength / b * TypeSize(type);
    }

    /// <summary>Bytes of a tensor with dimensions <paramref name="ne"/> (ne[0] is the row length).</summary>
    public static long TensorSize(GgmlType type, ReadOnlySpan<long> ne)
    {
        long rows = 1;
        for (int i = 1; i < ne.Length; i++)
        {
            rows = checked(rows * ne[i]);
        }
        return checked(RowSize(type, ne.Length == 0 ? 1 : ne[0]) * rows);
    }

    /// <summary>ggml's own name of the type ("f32", "q4_K", ...).</summary>
    public static string Name(GgmlType type) => type switch
    {
        GgmlType.F32 => "f32",
        GgmlType.F16 => "f16",
        GgmlType.Q4_0 => "q4_0",
        GgmlType.Q4_1 => "q4_1",
        GgmlType.Q5_0 => "q5_0",
        GgmlType.Q5_1 => "q5_1",
        GgmlType.Q8_0 => "q8_0",
        GgmlType.Q8_1 => "q8_1",
        GgmlType.Q2_K => "q2_K",
        GgmlType.Q3_K => "q3_K",
        GgmlType.Q4_K => "q4_K",
        GgmlType.Q5_K => "q5_K",
        GgmlType.Q6_K => "q6_K",
        GgmlType.Q8_K => "q8_K",
        GgmlType.IQ4_NL => "iq4_nl",
        GgmlType.IQ4_XS => "iq4_xs",
        GgmlType.I8 => "i8",
        GgmlType.I16 => "i16",
        GgmlType.I32 => "i32",
        GgmlType.I64 => "i64",
        GgmlType.F64 => "f64",
        GgmlType.BF16 => "bf16",
        _ => $"type {(int)type}",
    };
}
