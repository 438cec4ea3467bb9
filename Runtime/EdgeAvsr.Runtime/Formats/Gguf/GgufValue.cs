using System.Globalization;

namespace EdgeAvsr.Runtime.Formats.Gguf;

/// <summary>
/// One GGUF metadata value. Scalars are held as the matching CLR type (byte, sbyte, ushort, short, uint,
/// int, float, bool, string, ulong, long, double); arrays as a CLR array of that element type.
/// Nested arrays are not supported (llama.cpp does not read them either).
/// </summary>
public sealed class GgufValue : IEquatable<GgufValue>
{
    private GgufValue(GgufValueType type, GgufValueType elementType, object value)
    {
        Type = type;
        ElementType = elementType;
        Value = value;
    }

    public GgufValueType Type { get; }

    /// <summary>For arrays, the element type; otherwise equal to <see cref="Type"/>.</summary>
    public GgufValueType ElementType { get; }

    public object Value { get; }

    public bool IsArray => Type == GgufValueType.Array;

    /// <summary>Element count of an array (1 for a scalar).</summary>
    public long Count => Value is Array a ? a.LongLength : 1;

    public static GgufValue FromUInt8(byte v) => new(GgufValueType.UInt8, GgufValueType.UInt8, v);
    public static GgufValue FromInt8(sbyte v) => new(GgufValueType.Int8, GgufValueType.Int8, v);
    public static GgufValue FromUInt16(ushort v) => new(GgufValueType.UInt16, GgufValueType.UInt16, v);
    public static GgufValue FromInt16(short v) => new(GgufValueType.Int16, GgufValueType.Int16, v);
    public static GgufValue FromUInt32(uint v) => new(GgufValueType.UInt32, GgufValueType.UInt32, v);
    public static GgufValue FromInt32(int v) => new(GgufValueType.Int32, GgufValueType.Int32, v);
    public static GgufValue FromFloat32(float v) => new(GgufValueType.Float32, GgufValueType.Float32, v);
    public static GgufValue FromBool(bool v) => new(GgufValueType.Bool, GgufValueType.Bool, v);
    public static GgufValue FromUInt64(ulong v) => new(GgufValueType.UInt64, GgufValueType.UInt64, v);
    public static GgufValue FromInt64(long v) => new(GgufValueType.Int64, GgufValueType.Int64, v);
    public static GgufValue FromFloat64(double v) => new(GgufValueType.Float64, GgufValueType.Float64, v);

    public static GgufValue FromString(string v)
    {
        ArgumentNullException.ThrowIfNull(v);
        return new(GgufValueType.String, GgufValueType.String, v);
    }

    /// <summary>An array; <paramref name="values"/> must be a CLR array of the element type's CLR type.</summary>
    public static GgufValue FromArray(GgufValueType elementType, Array values)
    {
        ArgumentNullException.ThrowIfNull(values);
        Type expected = ClrType(elementType);
        if (values.GetType().GetElementType() != expected)
        {
            throw new ArgumentException($"a GGUF {elementType} array needs a {expected.Name}[]", nameof(values));
        }
        return new(GgufValueType.Array, elementType, values);
    }

    public static GgufValue FromStrings(IEnumerable<string> values) => FromArray(GgufValueType.String, values.ToArray());

    public static GgufValue FromInt32s(IEnumerable<int> values) => FromArray(GgufValueType.Int32, values.ToArray());

    public static GgufValue FromFloat32s(IEnumerable<float> values) => FromArray(GgufValueType.Float32, values.ToArray());

    internal static GgufValue FromRaw(GgufValueType type, GgufValueType elementType, object value) => new(type, elementType, value);

    internal static Type ClrType(GgufValueType t) => t switch
    {
        GgufValueType.UInt8 => typeof(byte),
        GgufValueType.Int8 => typeof(sbyte),
        GgufValueType.UInt16 => typeof(ushort),
        GgufValueType.Int16 => typeof(short),
        GgufValueType.UInt32 => typeof(uint),
        GgufValueType.Int32 => typeof(int),
        GgufValueType.Float32 => typeof(float),
        GgufValueType.Bool => typeof(bool),
        GgufValueType.String => typeof(string),
        GgufValueType.UInt64 => typeof(ulong),
        GgufValueType.Int64 => typeof(long),
        GgufValueType.Float64 => typeof(double),
        _ => throw new ArgumentOutOfRangeException(nameof(t), $"GGUF type {t} has no scalar CLR type"),
    };

    /// <summary>Bytes of one element of a fixed-size type (0 for strings).</summary>
    internal static int ScalarSize(GgufValueType t) => t switch
    {
        GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
        GgufValueType.UInt16 or GgufValueType.Int16 => 2,
        GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
        GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 => 8,
        _ => 0,
    };

    public string AsString() => Value as string ?? throw new InvalidOperationException($"GGUF value is {Describe()}, not a string");

    public T[] AsArray<T>() => Value as T[] ?? throw new InvalidOperationException($"GGUF value is {Describe()}, not an array of {typeof(T).Name}");

    /// <summary>"uint32", "array of string", ...</summary>
    public string Describe() => IsArray ? $"array of {TypeName(ElementType)}" : TypeName(Type);

    public static string TypeName(GgufValueType t) => t.ToString().ToLowerInvariant();

    /// <summary>Same type and the same value bit for bit (floats compare by bits, arrays element-wise).</summary>
    public bool Equals(GgufValue? other)
    {
        if (other is null || other.Type != Type || other.ElementType != ElementType)
        {
            return false;
        }
        return (Value, other.Value) switch
        {
            (float a, float b) => BitConverter.SingleToInt32Bits(a) == BitConverter.SingleToInt32Bits(b),
            (double a, double b) => BitConverter.DoubleToInt64Bits(a) == BitConverter.DoubleToInt64Bits(b),
            (float[] a, float[] b) => a.AsSpan().SequenceEqual(b, new FloatBitsComparer()),
            (double[] a, double[] b) => a.Select(BitConverter.DoubleToInt64Bits).SequenceEqual(b.Select(BitConverter.DoubleToInt64Bits)),
            (string[] a, string[] b) => a.AsSpan().SequenceEqual(b, StringComparer.Ordinal),
            (Array a, Array b) => a.Length == b.Length && a.Cast<object>().SequenceEqual(b.Cast<object>()),
            (var a, var b) => a.Equals(b),
        };
    }

    public override bool Equals(object? obj) => Equals(obj as GgufValue);

    public override int GetHashCode() => HashCode.Combine(Type, ElementType, Count);

    public override string ToString()
    {
        if (Value is Array a)
        {
            var head = a.Cast<object>().Take(4).Select(o => Convert.ToString(o, CultureInfo.InvariantCulture));
            return $"[{string.Join(", ", head)}{(a.Length > 4 ? $", ... ({a.Length} items)" : "")}]";
        }
        return Convert.ToString(Value, CultureInfo.InvariantCulture) ?? "";
    }

    private sealed class FloatBitsComparer : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => BitConverter.SingleToInt32Bits(x) == BitConverter.SingleToInt32Bits(y);

        public int GetHashCode(float obj) => BitConverter.SingleToInt32Bits(obj);
    }
}
