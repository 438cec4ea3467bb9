namespace EdgeAvsr.Runtime.Formats;

public static class TensorDTypes
{
    public static int SizeOf(TensorDType type) => type switch
    {
        TensorDType.F64 or TensorDType.I64 => 8,
        TensorDType.F32 or TensorDType.I32 => 4,
        TensorDType.F16 or TensorDType.BF16 or TensorDType.I16 => 2,
        _ => 1,
    };

    public static string ToSafetensorsName(TensorDType type) => type switch
    {
        TensorDType.F64 => "F64",
        TensorDType.F32 => "F32",
        TensorDType.F16 => "F16",
        TensorDType.BF16 => "BF16",
        TensorDType.I64 => "I64",
        TensorDType.I32 => "I32",
        TensorDType.I16 => "I16",
        TensorDType.I8 => "I8",
        TensorDType.U8 => "U8",
        _ => "BOOL",
    };

    public static bool TryParseSafetensorsName(string name, out TensorDType type)
    {
        switch (name)
        {
            case "F64": type = TensorDType.F64; return true;
            case "F32": type = TensorDType.F32; return true;
            case "F16": type = TensorDType.F16; return true;
            case "BF16": type = TensorDType.BF16; return true;
            case "I64": type = TensorDType.I64; return true;
            case "I32": type = TensorDType.I32; return true;
            case "I16": type = TensorDType.I16; return true;
            case "I8": type = TensorDType.I8; return true;
            case "U8": type = TensorDType.U8; return true;
            case "BOOL": type = TensorDType.Bool; return true;
            default: type = default; return false;
        }
    }

    /// <summary>bfloat16 is the upper half of an IEEE binary32; widening is exact.</summary>
    public static float BFloat16ToSingle(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>Round-to-nearest-even narrowing to bfloat16 (NaN stays NaN), as PyTorch does.</summary>
    public static ushort SingleToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((bits >> 16) | 0x40);
        }
        uint rounding = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }

    /// <summary><c>[1, 80, 3000]</c>; a negative dimension (ONNX's symbolic one, reported as -1) prints as <c>?</c>.</summary>
    public static string FormatShape(ReadOnlySpan<long> shape)
    {
        var text = new System.Text.StringBuilder("[");
        for (int i = 0; i < shape.Length; i++)
        {
            text.Append(i == 0 ? "" : ", ").Append(shape[i] < 0 ? "?" : shape[i].ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        return text.Append(']').ToString();
    }
}
