using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Runtime.Projector;

/// <summary>Symmetric int8 quantization shared by the projector's load-time path and the INT8 file writer.</summary>
public static class Int8Quantization
{
    /// <summary>
    /// Per row (output channel): <c>scale = max|w| / 127</c>, <c>q = round_half_even(w / scale)</c> in [-127, 127].
    /// An all-zero row gets scale 0 and zeros.
    /// </summary>
    public static (sbyte[] Values, float[] Scales) QuantizeRows(ReadOnlySpan<float> weights, int rows, int columns)
    {
        var q = new sbyte[(long)rows * columns];
        var scales = new float[rows];
        for (int r = 0; r < rows; r++)
        {
            scales[r] = QuantizeRow(weights.Slice(r * columns, columns), q.AsSpan(r * columns, columns));
        }
        return (q, scales);
    }

    /// <summary>Quantizes one row (one token's activations or one channel's weights); returns its scale.</summary>
    /// <remarks>The vector and scalar paths give identical bytes: same product, same ties-to-even rounding.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float QuantizeRow(ReadOnlySpan<float> x, Span<sbyte> q)
    {
        int i = 0;
        float max = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<float>.Count)
        {
            var vmax = Vector<float>.Zero;
            var vx = MemoryMarshal.Cast<float, Vector<float>>(x);
            foreach (var v in vx)
            {
                vmax = Vector.Max(vmax, Vector.Abs(v));
            }
            for (int l = 0; l < Vector<float>.Count; l++)
            {
                max = MathF.Max(max, vmax[l]);
            }
            i = vx.Length * Vector<float>.Count;
        }
        for (int t = i; t < x.Length; t++)
        {
            max = MathF.Max(max, MathF.Abs(x[t]));
        }
        if (max == 0)
        {
            q.Clear();
            return 0;
        }
        float scale = max / 127f;
        float inv = 127f / max;
        i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count * 4;
            var vinv = new Vector<float>(inv);
            var lo = new Vector<float>(-127f);
            var hi = new Vector<float>(127f);
            for (; i + width <= x.Length; i += width)
            {
                var r0 = Vector.ConvertToInt32(Vector.Min(Vector.Max(Vector.Round(new Vector<float>(x.Slice(i)) * vinv), lo), hi));
                var r1 = Vector.ConvertToInt32(Vector.Min(Vector.Max(Vector.Round(new Vector<float>(x.Slice(i + Vector<float>.Count)) * vinv), lo), hi));
                var r2 = Vector.ConvertToInt32(Vector.Min(Vector.Max(Vector.Round(new Vector<float>(x.Slice(i + 2 * Vector<float>.Count)) * vinv), lo), hi));
                var r3 = Vector.ConvertToInt32(Vector.Min(Vector.Max(Vector.Round(new Vector<float>(x.Slice(i + 3 * Vector<float>.Count)) * vinv), lo), hi));
                var packed = Vector.Narrow(Vector.Narrow(r0, r1), Vector.Narrow(r2, r3));
                packed.CopyTo(q.Slice(i));
            }
        }
        for (; i < x.Length; i++)
        {
            float v = MathF.Round(x[i] * inv);
            q[i] = (sbyte)Math.Clamp(v, -127f, 127f);
        }
        return scale;
    }
}
