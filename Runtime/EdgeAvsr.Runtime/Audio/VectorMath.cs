using System.Numerics;
using System.Runtime.CompilerServices;

namespace EdgeAvsr.Runtime.Audio;

/// <summary>Element-wise functions on <see cref="Vector{T}"/> that the base library does not vectorise on every target.</summary>
internal static class VectorMath
{
    private const float Log10Of2 = 0.30102999566398119521f;
    private const float Log10OfE = 0.43429448190325182765f;

    /// <summary>
    /// log10 of positive normal floats: x = 2^e m with m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh(s) with
    /// s = (m - 1) / (m + 1), |s| &lt;= 0.172, summed to s^13 (relative error below 1e-8 before rounding).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Log10(Vector<float> x)
    {
        var bits = Vector.AsVectorInt32(x);
        var exponent = Vector.ShiftRightLogical(bits, 23) - new Vector<int>(127);
        var mantissa = Vector.AsVectorSingle((bits & new Vector<int>(0x007FFFFF)) | new Vector<int>(0x3F800000));
        var big = Vector.GreaterThan(mantissa, new Vector<float>(1.41421356f));
        mantissa = Vector.ConditionalSelect(big, mantissa * new Vector<float>(0.5f), mantissa);
        exponent -= big; // a true lane is -1
        var one = Vector<float>.One;
        var s = (mantissa - one) / (mantissa + one);
        var s2 = s * s;
        var poly = new Vector<float>(1f / 13);
        poly = poly * s2 + new Vector<float>(1f / 11);
        poly = poly * s2 + new Vector<float>(1f / 9);
        poly = poly * s2 + new Vector<float>(1f / 7);
        poly = poly * s2 + new Vector<float>(1f / 5);
        poly = poly * s2 + new Vector<float>(1f / 3);
        poly = poly * s2 + one;
        var ln = new Vector<float>(2f) * s * poly;
        return Vector.ConvertToSingle(exponent) * new Vector<float>(Log10Of2) + ln * new Vector<float>(Log10OfE);
    }
}
