using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using EdgeAvsr.Runtime.Formats.Gguf;

namespace EdgeAvsr.Quantize.Conversion;

/// <summary>
/// ggml's reference block quantizers (quantize_row_{q8_0,q4_0,q5_0,q5_1,q4_K,q5_K,q6_K}_ref of ggml-quants.c, the
/// code llama_model_quantize runs when no importance matrix is given), written here from the algorithm
/// with the same float32 operation order so the bytes are identical. Scales are stored as IEEE fp16
/// (round to nearest even, as ggml's fp32-to-fp16).
/// </summary>
public static class GgmlQuantizers
{
    private const float GroupMaxEps = 1e-15f;

    public static void Quantize(GgmlType type, ReadOnlySpan<float> src, Span<byte> dst)
    {
        int block = GgmlTypes.BlockSize(type);
        int size = GgmlTypes.TypeSize(type);
        if (src.Length % block != 0 || dst.Length != src.Length / block * size)
        {
            throw new ArgumentException($"{GgmlTypes.Name(type)}: {src.Length} values / {dst.Length} bytes are not whole blocks");
        }
        int blocks = src.Length / block;
        for (int i = 0; i < blocks; i++)
        {
            var x = src.Slice(i * block, block);
            var y = dst.Slice(i * size, size);
            switch (type)
            {
                case GgmlType.Q8_0: Q8_0(x, y); break;
                case GgmlType.Q4_0: Q4_0(x, y); break;
                case GgmlType.Q5_0: Q5_0(x, y); break;
                case GgmlType.Q5_1: Q5_1(x, y); break;
                case GgmlType.Q4_K: QK(x, y, nmax: 15, rmin: -1f, nstep: 20); break;
                case GgmlType.Q5_K: QK(x, y, nmax: 31, rmin: -0.5f, nstep: 15); break;
                case GgmlType.Q6_K: Q6_K(x, y); break;
                default: throw new ArgumentOutOfRangeException(nameof(type), $"quantization to {GgmlTypes.Name(type)} is not implemented by EdgeAvsr");
            }
        }
    }

    /// <summary>ggml's nearest_int: the 1.5*2^23 magic-number rounding (round half to even).</summary>
    private static int NearestInt(float f)
    {
        float v = f + 12582912f;
        return (BitConverter.SingleToInt32Bits(v) & 0x007fffff) - 0x00400000;
    }

    /// <summary>C roundf: nearest integer, halfway cases away from zero (x - trunc(x) is exact).</summary>
    private static float RoundHalfAway(float v)
    {
        float t = MathF.Truncate(v);
        return MathF.Abs(v - t) >= 0.5f ? t + MathF.CopySign(1f, v) : t;
    }

    private static void WriteHalf(Span<byte> dst, float value) => BinaryPrimitives.WriteHalfLittleEndian(dst, (Half)value);

    private static float ReadHalf(ReadOnlySpan<byte> src) => (float)BinaryPrimitives.ReadHalfLittleEndian(src);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Q8_0(ReadOnlySpan<float> x, Span<byte> y)
    {
        if (Vector256.IsHardwareAccelerated)
        {
            Q8_0Vector(x, y);
            return;
        }
        float amax = 0f;
        for (int j = 0; j < 32; j++)
        {
            float a = MathF.Abs(x[j]);
            amax = amax > a ? amax : a;
        }
        float d = amax / 127;
        float id = d != 0 ? 1.0f / d : 0.0f;
        WriteHalf(y, d);
        for (int j = 0; j < 32; j++)
        {
            // Through int: a direct float-to-sbyte cast is a slow saturating helper call.
            y[2 + j] = (byte)(sbyte)(int)RoundHalfAway(x[j] * id);
        }
    }

    /// <summary>Q8_0 with the same per-element operations in lanes: max |x| (exact in any order), x*id, roundf.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Q8_0Vector(ReadOnlySpan<float> x, Span<byte> y)
    {
        var v0 = Vector256.Create<float>(x[..8]);
        var v1 = Vector256.Create<float>(x.Slice(8, 8));
        var v2 = Vector256.Create<float>(x.Slice(16, 8));
        var v3 = Vector256.Create<float>(x.Slice(24, 8));
        var m = Vector256.Max(Vector256.Max(Vector256.Abs(v0), Vector256.Abs(v1)), Vector256.Max(Vector256.Abs(v2), Vector256.Abs(v3)));
        float amax = 0f;
        for (int k = 0; k < 8; k++)
        {
            float a = m.GetElement(k);
            amax = amax > a ? amax : a;
        }
        float d = amax / 127;
        float id = d != 0 ? 1.0f / d : 0.0f;
        WriteHalf(y, d);
        var vid = Vector256.Create(id);
        var q0 = RoundHalfAway(v0 * vid);
        var q1 = RoundHalfAway(v1 * vid);
        var q2 = RoundHalfAway(v2 * vid);
        var q3 = RoundHalfAway(v3 * vid);
        var bytes = Vector256.Narrow(Vector256.Narrow(q0, q1), Vector256.Narrow(q2, q3));
        bytes.AsByte().CopyTo(y.Slice(2, 32));
    }

    private static Vector256<int> RoundHalfAway(Vector256<float> v)
    {
        var t = Vector256.Truncate(v);
        var step = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(Vector256.Abs(v - t), Vector256.Create(0.5f)),
            (v & Vector256.Create(-0f)) | Vector256.Create(1f), Vector256<float>.Zero);
        return Vector256.ConvertToInt32(t + step);
    }

    /// <summary>The first value of largest magnitude, sign kept (ggml's q4_0/q5_0 scale is it over -8 / -16).</summary>
    private static float SignedAbsMax(ReadOnlySpan<float> x)
    {
        float amax = 0f, max = 0f;
        foreach (float v in x)
        {
            if (amax < MathF.Abs(v))
            {
                amax = MathF.Abs(v);
                max = v;
            }
        }
        return max;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Q4_0(ReadOnlySpan<float> x, Span<byte> y)
    {
        float max = SignedAbsMax(x[..32]);
        float d = max / -8;
        float id = d != 0 ? 1.0f / d : 0.0f;
        WriteHalf(y, d);
        for (int j = 0; j < 16; j++)
        {
            float x0 = x[j] * id;
            float x1 = x[16 + j] * id;
            int q0 = Math.Min(15, (int)(sbyte)(int)(x0 + 8.5f));
            int q1 = Math.Min(15, (int)(sbyte)(int)(x1 + 8.5f));
            y[2 + j] = (byte)(q0 | (q1 << 4));
        }
    }

    /// <summary>Q5_0: fp16 d = (signed max)/-16, qh[4] (bit 4 of each quant), qs[16] (low nibbles; j and j+16 share a byte).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Q5_0(ReadOnlySpan<float> x, Span<byte> y)
    {
        float max = SignedAbsMax(x[..32]);
        float d = max / -16;
        float id = d != 0 ? 1.0f / d : 0.0f;
        WriteHalf(y, d);
        uint qh = 0;
        for (int j = 0; j < 16; j++)
        {
            float x0 = x[j] * id;
            float x1 = x[16 + j] * id;
            // C's (int8_t) of a float truncates toward zero; x*id + 16.5 is in [0, 33) here.
            int q0 = Math.Min(31, (int)(sbyte)(int)(x0 + 16.5f));
            int q1 = Math.Min(31, (int)(sbyte)(int)(x1 + 16.5f));
            y[6 + j] = (byte)((q0 & 0xF) | ((q1 & 0xF) << 4));
            qh |= (uint)((q0 & 0x10) >> 4) << j;
            qh |= (uint)((q1 & 0x10) >> 4) << (j + 16);
        }
        BinaryPrimitives.WriteUInt32LittleEndian(y[2..], qh);
    }

    /// <summary>Q5_1: fp16 d = (max-min)/31, fp16 m = min, qh[4], qs[16]; quants (x-min)/d rounded half up, unclamped as in ggml.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Q5_1(ReadOnlySpan<float> x, Span<byte> y)
    {
        float min = float.MaxValue, max = -float.MaxValue;
        for (int j = 0; j < 32; j++)
        {
            float v = x[j];
            if (v < min)
            {
                min = v;
            }
            if (v > max)
            {
                max = v;
            }
        }
        float d = (max - min) / 31;
        float id = d != 0 ? 1.0f / d : 0.0f;
        WriteHalf(y, d);
        WriteHalf(y[2..], min);
        uint qh = 0;
        for (int j = 0; j < 16; j++)
        {
            float x0 = (x[j] - min) * id;
            float x1 = (x[16 + j] - min) * id;
            // C's (uint8_t) of a float truncates; (x - min)*id + 0.5 is in [0.5, 32) here.
            int q0 = (byte)(int)(x0 + 0.5f);
            int q1 = (byte)(int)(x1 + 0.5f);
            y[8 + j] = (byte)((q0 & 0xF) | ((q1 & 0xF) << 4));
            qh |= (uint)((q0 & 0x10) >> 4) << j;
            qh |= (uint)((q1 & 0x10) >> 4) << (j + 16);
        }
        BinaryPrimitives.WriteUInt32LittleEndian(y.Slice(4, 4), qh);
    }

    /// <summary>make_qkx2_quants: scale and (negated) min of a sub-block by weighted least squares over a grid of scales.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float MakeQkx2Quants(int nmax, ReadOnlySpan<float> x, ReadOnlySpan<float> weights, Span<byte> l, out float theMin, float rmin,
        float rdelta, int nstep)
    {
        int n = x.Length;
        Span<byte> laux = stackalloc byte[32];
        float min = x[0], max = x[0];
        float sumW = weights[0];
        float sumX = sumW * x[0];
        for (int i = 1; i < n; i++)
        {
            if (x[i] < min)
            {
                min = x[i];
            }
            if (x[i] > max)
            {
                max = x[i];
            }
            float w = weights[i];
            sumW += w;
            sumX += w * x[i];
        }
        if (min > 0)
        {
            min = 0;
        }
        if (max == min)
        {
            l[..n].Clear();
            theMin = -min;
            return 0f;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestError = 0;
        // Initial grid point, scalar as in ggml.
        for (int i = 0; i < n; i++)
        {
            int q = NearestInt(iscale * (x[i] - min));
            l[i] = (byte)Math.Max(0, Math.Min(nmax, q));
            float diff = scale * l[i] + min - x[i];
            diff *= diff;
            bestError += weights[i] * diff;
        }
        if (Vector256.IsHardwareAccelerated && n == 32)
        {
            return SearchQkx2Vector(nmax, x, weights, l, out theMin, rmin, rdelta, nstep, min, max, sumW, sumX, scale, bestError);
        }
        for (int step = 0; step <= nstep; step++)
        {
            iscale = (rmin + rdelta * step + nmax) / (max - min);
            float sumL = 0, sumL2 = 0, sumXl = 0;
            for (int i = 0; i < n; i++)
            {
                int q = NearestInt(iscale * (x[i] - min));
                q = Math.Max(0, Math.Min(nmax, q));
                laux[i] = (byte)q;
                float w = weights[i];
                sumL += w * q;
                sumL2 += w * q * q;
                sumXl += w * q * x[i];
            }
            float det = sumW * sumL2 - sumL * sumL;
            if (det > 0)
            {
                float thisScale = (sumW * sumXl - sumX * sumL) / det;
                float thisMin = (sumL2 * sumX - sumL * sumXl) / det;
                if (thisMin > 0)
                {
                    thisMin = 0;
                    thisScale = sumXl / sumL2;
                }
                float curError = 0;
                for (int i = 0; i < n; i++)
                {
                    float diff = thisScale * laux[i] + thisMin - x[i];
                    diff *= diff;
                    curError += weights[i] * diff;
                }
                if (curError < bestError)
                {
                    laux[..n].CopyTo(l);
                    bestError = curError;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        theMin = -min;
        return scale;
    }

    /// <summary>
    /// The grid search of make_qkx2_quants with 8 candidate scales per Vector256. Every lane does exactly the
    /// float operations the scalar loop does for its candidate, in the same order. A winning candidate changes
    /// <c>min</c>, which the following candidates use, so after a win the search restarts at the next candidate
    /// with the new <c>min</c>: the result is bit-identical to the scalar loop.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float SearchQkx2Vector(int nmax, ReadOnlySpan<float> x, ReadOnlySpan<float> weights, Span<byte> l, out float theMin,
        float rmin, float rdelta, int nstep, float min, float max, float sumW, float sumX, float scale, float bestError)
    {
        int n = x.Length;
        int candidates = nstep + 1;
        Span<float> iscales = stackalloc float[8];
        Span<float> scales = stackalloc float[8];
        Span<float> mins = stackalloc float[8];
        Span<float> errors = stackalloc float[8];
        Span<float> dets = stackalloc float[8];
        var magic = Vector256.Create(12582912f);
        var mant = Vector256.Create(0x007fffff);
        var bias = Vector256.Create(0x00400000);
        var zero = Vector256<int>.Zero;
        var top = Vector256.Create(nmax);
        var vSumW = Vector256.Create(sumW);
        var vSumX = Vector256.Create(sumX);
        int c0 = 0;
        while (c0 < candidates)
        {
            int count = Math.Min(8, candidates - c0);
            for (int k = 0; k < 8; k++)
            {
                iscales[k] = k < count ? (rmin + rdelta * (c0 + k) + nmax) / (max - min) : 0f;
            }
            var vIscale = Vector256.Create<float>(iscales);
            var sumL = Vector256<float>.Zero;
            var sumL2 = Vector256<float>.Zero;
            var sumXl = Vector256<float>.Zero;
            for (int i = 0; i < n; i++)
            {
                var q = (vIscale * Vector256.Create(x[i] - min) + magic).AsInt32();
                var lf = Vector256.ConvertToSingle(Vector256.Min(Vector256.Max((q & mant) - bias, zero), top));
                var w = Vector256.Create(weights[i]);
                var wl = w * lf;
                sumL += wl;
                sumL2 += wl * lf;
                sumXl += wl * Vector256.Create(x[i]);
            }
            var det = vSumW * sumL2 - sumL * sumL;
            var thisScale = (vSumW * sumXl - vSumX * sumL) / det;
            var thisMin = (sumL2 * vSumX - sumL * sumXl) / det;
            var positive = Vector256.GreaterThan(thisMin, Vector256<float>.Zero);
            thisMin = Vector256.ConditionalSelect(positive, Vector256<float>.Zero, thisMin);
            thisScale = Vector256.ConditionalSelect(positive, sumXl / sumL2, thisScale);
            var err = Vector256<float>.Zero;
            for (int i = 0; i < n; i++)
            {
                var q = (vIscale * Vector256.Create(x[i] - min) + magic).AsInt32();
                var lf = Vector256.ConvertToSingle(Vector256.Min(Vector256.Max((q & mant) - bias, zero), top));
                var diff = thisScale * lf + thisMin - Vector256.Create(x[i]);
                diff *= diff;
                err += Vector256.Create(weights[i]) * diff;
            }
            thisScale.CopyTo(scales);
            thisMin.CopyTo(mins);
            err.CopyTo(errors);
            det.CopyTo(dets);
            int won = -1;
            for (int k = 0; k < count; k++)
            {
                if (dets[k] > 0 && errors[k] < bestError)
                {
                    won = k;
                    break;
                }
            }
            if (won < 0)
            {
                c0 += count;
                continue;
            }
            float iscale = iscales[won];
            for (int i = 0; i < n; i++)
            {
                int q = NearestInt(iscale * (x[i] - min));
                l[i] = (byte)Math.Max(0, Math.Min(nmax, q));
            }
            bestError = errors[won];
            scale = scales[won];
            min = mins[won];
            c0 += won + 1;
        }
        theMin = -min;
        return scale;
    }

    private static void GetScaleMinK4(int j, ReadOnlySpan<byte> q, out int d, out int m)
    {
        if (j < 4)
        {
            d = q[j] & 63;
            m = q[j + 4] & 63;
        }
        else
        {
            d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
            m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
        }
    }

    /// <summary>Q4_K (nmax 15: d, dmin, scales[12], qs[128]) and Q5_K (nmax 31: d, dmin, scales[12], qh[32], qs[128]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void QK(ReadOnlySpan<float> x, Span<byte> y, int nmax, float rmin, int nstep)
    {
        Span<byte> l = stackalloc byte[256];
        Span<float> weights = stackalloc float[32];
        Span<float> mins = stackalloc float[8];
        Span<float> scales = stackalloc float[8];
        y.Clear();
        var sc = y.Slice(4, 12);
        float maxScale = 0, maxMin = 0;
        for (int j = 0; j < 8; j++)
        {
            var xs = x.Slice(32 * j, 32);
            float sumX2 = 0;
            for (int i = 0; i < 32; i++)
            {
                sumX2 += xs[i] * xs[i];
            }
            float avX = MathF.Sqrt(sumX2 / 32);
            for (int i = 0; i < 32; i++)
            {
                weights[i] = avX + MathF.Abs(xs[i]);
            }
            scales[j] = MakeQkx2Quants(nmax, xs, weights, l.Slice(32 * j, 32), out mins[j], rmin, 0.1f, nstep);
            if (scales[j] > maxScale)
            {
                maxScale = scales[j];
            }
            if (mins[j] > maxMin)
            {
                maxMin = mins[j];
            }
        }
        float invScale = maxScale > 0 ? 63f / maxScale : 0f;
        float invMin = maxMin > 0 ? 63f / maxMin : 0f;
        for (int j = 0; j < 8; j++)
        {
            byte ls = (byte)Math.Min(63, (int)(byte)NearestInt(invScale * scales[j]));
            byte lm = (byte)Math.Min(63, (int)(byte)NearestInt(invMin * mins[j]));
            if (j < 4)
            {
                sc[j] = ls;
                sc[j + 4] = lm;
            }
            else
            {
                sc[j + 4] = (byte)((ls & 0xF) | ((lm & 0xF) << 4));
                sc[j - 4] |= (byte)((ls >> 4) << 6);
                sc[j] |= (byte)((lm >> 4) << 6);
            }
        }
        WriteHalf(y, maxScale / 63f);
        WriteHalf(y[2..], maxMin / 63f);
        float dAll = ReadHalf(y);
        float dminAll = ReadHalf(y[2..]);
        for (int j = 0; j < 8; j++)
        {
            GetScaleMinK4(j, sc, out int s, out int m);
            float d = dAll * s;
            if (d == 0)
            {
                continue;
            }
            float dm = dminAll * m;
            for (int i = 0; i < 32; i++)
            {
                int q = NearestInt((x[32 * j + i] + dm) / d);
                l[32 * j + i] = (byte)Math.Max(0, Math.Min(nmax, q));
            }
        }
        if (nmax == 15)
        {
            var qs = y.Slice(16, 128);
            for (int j = 0, o = 0; j < 256; j += 64, o += 32)
            {
                for (int i = 0; i < 32; i++)
                {
                    qs[o + i] = (byte)(l[j + i] | (l[j + i + 32] << 4));
                }
            }
        }
        else
        {
            var qh = y.Slice(16, 32);
            var ql = y.Slice(48, 128);
            int m1 = 1, m2 = 2;
            for (int n = 0, o = 0; n < 256; n += 64, o += 32)
            {
                for (int j = 0; j < 32; j++)
                {
                    int l1 = l[n + j];
                    if (l1 > 15)
                    {
                        l1 -= 16;
                        qh[j] |= (byte)m1;
                    }
                    int l2 = l[n + j + 32];
                    if (l2 > 15)
                    {
                        l2 -= 16;
                        qh[j] |= (byte)m2;
                    }
                    ql[o + j] = (byte)(l1 | (l2 << 4));
                }
                m1 <<= 2;
                m2 <<= 2;
            }
        }
    }

    /// <summary>make_qx_quants with rmse_type 1 (weights x²), as Q6_K uses it; L holds l + nmax.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float MakeQxQuants(int nmax, ReadOnlySpan<float> x, Span<sbyte> l)
    {
        int n = x.Length;
        float max = 0, amax = 0;
        for (int i = 0; i < n; i++)
        {
            float ax = MathF.Abs(x[i]);
            if (ax > amax)
            {
                amax = ax;
                max = x[i];
            }
        }
        if (amax < GroupMaxEps)
        {
            l[..n].Clear();
            return 0f;
        }
        if (Vector256.IsHardwareAccelerated)
        {
            return MakeQxQuantsVector(nmax, x, l, max);
        }
        float iscale = -nmax / max;
        float sumlx = 0, suml2 = 0;
        for (int i = 0; i < n; i++)
        {
            int q = NearestInt(iscale * x[i]);
            q = Math.Max(-nmax, Math.Min(nmax - 1, q));
            l[i] = (sbyte)(q + nmax);
            float w = x[i] * x[i];
            sumlx += w * x[i] * q;
            suml2 += w * q * q;
        }
        float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
        float best = scale * sumlx;
        for (int step = -9; step <= 9; step++)
        {
            if (step == 0)
            {
                continue;
            }
            iscale = -(nmax + 0.1f * step) / max;
            sumlx = suml2 = 0;
            for (int i = 0; i < n; i++)
            {
                int q = NearestInt(iscale * x[i]);
                q = Math.Max(-nmax, Math.Min(nmax - 1, q));
                float w = x[i] * x[i];
                sumlx += w * x[i] * q;
                suml2 += w * q * q;
            }
            if (suml2 > 0 && sumlx * sumlx > best * suml2)
            {
                for (int i = 0; i < n; i++)
                {
                    int q = NearestInt(iscale * x[i]);
                    l[i] = (sbyte)(nmax + Math.Max(-nmax, Math.Min(nmax - 1, q)));
                }
                scale = sumlx / suml2;
                best = scale * sumlx;
            }
        }
        return scale;
    }

    /// <summary>
    /// make_qx_quants (rmse_type 1) with the 19 candidate scales (the initial one, then is = -9..9 without 0)
    /// evaluated 8 at a time in Vector256 lanes, each lane repeating the scalar float operations in order; the
    /// winner is then picked in the scalar loop's order, so the result is bit-identical.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float MakeQxQuantsVector(int nmax, ReadOnlySpan<float> x, Span<sbyte> l, float max)
    {
        int n = x.Length;
        Span<float> iscales = stackalloc float[24];
        Span<float> sumlxs = stackalloc float[24];
        Span<float> suml2s = stackalloc float[24];
        iscales[0] = -nmax / max;
        for (int c = 1, step = -9; step <= 9; step++)
        {
            if (step != 0)
            {
                iscales[c++] = -(nmax + 0.1f * step) / max;
            }
        }
        var magic = Vector256.Create(12582912f);
        var mant = Vector256.Create(0x007fffff);
        var bias = Vector256.Create(0x00400000);
        var lo = Vector256.Create(-nmax);
        var hi = Vector256.Create(nmax - 1);
        for (int g = 0; g < 3; g++)
        {
            var vIscale = Vector256.Create<float>(iscales.Slice(g * 8, 8));
            var sumlx = Vector256<float>.Zero;
            var suml2 = Vector256<float>.Zero;
            for (int i = 0; i < n; i++)
            {
                float xi = x[i];
                var q = (vIscale * Vector256.Create(xi) + magic).AsInt32();
                var lf = Vector256.ConvertToSingle(Vector256.Min(Vector256.Max((q & mant) - bias, lo), hi));
                float w = xi * xi;
                sumlx += Vector256.Create(w * xi) * lf;
                suml2 += Vector256.Create(w) * lf * lf;
            }
            sumlx.CopyTo(sumlxs.Slice(g * 8, 8));
            suml2.CopyTo(suml2s.Slice(g * 8, 8));
        }
        float scale = suml2s[0] != 0 ? sumlxs[0] / suml2s[0] : 0.0f;
        float best = scale * sumlxs[0];
        int winner = 0;
        for (int c = 1; c < 19; c++)
        {
            if (suml2s[c] > 0 && sumlxs[c] * sumlxs[c] > best * suml2s[c])
            {
                scale = sumlxs[c] / suml2s[c];
                best = scale * sumlxs[c];
                winner = c;
            }
        }
        float iscale = iscales[winner];
        for (int i = 0; i < n; i++)
        {
            int q = NearestInt(iscale * x[i]);
            l[i] = (sbyte)(nmax + Math.Max(-nmax, Math.Min(nmax - 1, q)));
        }
        return scale;
    }

    /// <summary>Q6_K: ql[128], qh[64], int8 scales[16], fp16 d.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Q6_K(ReadOnlySpan<float> x, Span<byte> y)
    {
        Span<sbyte> l = stackalloc sbyte[256];
        Span<float> scales = stackalloc float[16];
        y.Clear();
        float maxScale = 0, maxAbsScale = 0;
        for (int ib = 0; ib < 16; ib++)
        {
            float scale = MakeQxQuants(32, x.Slice(16 * ib, 16), l.Slice(16 * ib, 16));
            scales[ib] = scale;
            float abs = MathF.Abs(scale);
            if (abs > maxAbsScale)
            {
                maxAbsScale = abs;
                maxScale = scale;
            }
        }
        if (maxAbsScale < GroupMaxEps)
        {
            return;
        }
        var ql = y[..128];
        var qh = y.Slice(128, 64);
        var sc = y.Slice(192, 16);
        float iscale = -128f / maxScale;
        WriteHalf(y[208..], 1 / iscale);
        for (int ib = 0; ib < 16; ib++)
        {
            sc[ib] = (byte)(sbyte)Math.Min(127, NearestInt(iscale * scales[ib]));
        }
        float dAll = ReadHalf(y[208..]);
        for (int j = 0; j < 16; j++)
        {
            float d = dAll * (sbyte)sc[j];
            if (d == 0)
            {
                continue;
            }
            for (int i = 0; i < 16; i++)
            {
                int q = NearestInt(x[16 * j + i] / d);
                q = Math.Max(-32, Math.Min(31, q));
                l[16 * j + i] = (sbyte)(q + 32);
            }
        }
        for (int j = 0, lo = 0, ho = 0; j < 256; j += 128, lo += 64, ho += 32)
        {
            for (int i = 0; i < 32; i++)
            {
                int q1 = l[j + i] & 0xF;
                int q2 = l[j + i + 32] & 0xF;
                int q3 = l[j + i + 64] & 0xF;
                int q4 = l[j + i + 96] & 0xF;
                ql[lo + i] = (byte)(q1 | (q3 << 4));
                ql[lo + i + 32] = (byte)(q2 | (q4 << 4));
                qh[ho + i] = (byte)((l[j + i] >> 4) | ((l[j + i + 32] >> 4) << 2) | ((l[j + i + 64] >> 4) << 4) | ((l[j + i + 96] >> 4) << 6));
            }
        }
    }
}
