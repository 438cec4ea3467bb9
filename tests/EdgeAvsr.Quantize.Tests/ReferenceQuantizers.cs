using System.Buffers.Binary;
using EdgeAvsr.Runtime.Formats.Gguf;

namespace EdgeAvsr.Quantize.Tests;

/// <summary>
/// ggml's reference block quantizers (quantize_row_*_ref of ggml-quants.c) as plain scalar float32 code, one
/// block at a time, with no vector paths and no shared helpers with the production quantizers: the oracle the
/// block tests hold <see cref="Conversion.GgmlQuantizers"/> to. llama.cpp itself is the oracle of the whole-file
/// identity tests.
/// </summary>
internal static class ReferenceQuantizers
{
    public static byte[] Quantize(GgmlType type, float[] src)
    {
        int block = GgmlTypes.BlockSize(type);
        int size = GgmlTypes.TypeSize(type);
        var dst = new byte[src.Length / block * size];
        for (int b = 0; b < src.Length / block; b++)
        {
            var x = src.AsSpan(b * block, block);
            var y = dst.AsSpan(b * size, size);
            switch (type)
            {
                case GgmlType.Q8_0: Q8_0(x, y); break;
                case GgmlType.Q4_0: Q4_0(x, y); break;
                case GgmlType.Q5_0: Q5_0(x, y); break;
                case GgmlType.Q5_1: Q5_1(x, y); break;
                case GgmlType.Q4_K: Q4K5K(x, y, 15); break;
                case GgmlType.Q5_K: Q4K5K(x, y, 31); break;
                case GgmlType.Q6_K: Q6_K(x, y); break;
                default: throw new ArgumentOutOfRangeException(nameof(type));
            }
        }
        return dst;
    }

    private static int NearestInt(float f) => (BitConverter.SingleToInt32Bits(f + 12582912f) & 0x007fffff) - 0x00400000;

    private static void Half(Span<byte> y, float v) => BinaryPrimitives.WriteHalfLittleEndian(y, (Half)v);

    private static float Half(ReadOnlySpan<byte> y) => (float)BinaryPrimitives.ReadHalfLittleEndian(y);

    /// <summary>C's roundf (half away from zero) of a float, evaluated in double where it is exact.</summary>
    private static int RoundF(float v) => (int)Math.Round((double)v, MidpointRounding.AwayFromZero);

    private static void Q8_0(Span<float> x, Span<byte> y)
    {
        float amax = 0;
        foreach (float v in x)
        {
            amax = Math.Max(amax, Math.Abs(v));
        }
        float d = amax / 127;
        float id = d != 0 ? 1f / d : 0f;
        Half(y, d);
        for (int j = 0; j < 32; j++)
        {
            float x0 = x[j] * id;
            y[2 + j] = unchecked((byte)(sbyte)RoundF(x0));
        }
    }

    private static (float Max, float Amax) SignedMax(Span<float> x)
    {
        float amax = 0, max = 0;
        foreach (float v in x)
        {
            if (amax < Math.Abs(v))
            {
                amax = Math.Abs(v);
                max = v;
            }
        }
        return (max, amax);
    }

    private static void Q4_0(Span<float> x, Span<byte> y)
    {
        float d = SignedMax(x).Max / -8;
        float id = d != 0 ? 1f / d : 0f;
        Half(y, d);
        for (int j = 0; j < 16; j++)
        {
            float x0 = x[j] * id, x1 = x[j + 16] * id;
            float s0 = x0 + 8.5f, s1 = x1 + 8.5f;
            int q0 = Math.Min(15, (int)MathF.Truncate(s0));
            int q1 = Math.Min(15, (int)MathF.Truncate(s1));
            y[2 + j] = (byte)(q0 | (q1 << 4));
        }
    }

    private static void Q5_0(Span<float> x, Span<byte> y)
    {
        float d = SignedMax(x).Max / -16;
        float id = d != 0 ? 1f / d : 0f;
        Half(y, d);
        var q = new int[32];
        for (int j = 0; j < 32; j++)
        {
            float xs = x[j] * id;
            float s = xs + 16.5f;
            q[j] = Math.Min(31, (int)MathF.Truncate(s));
        }
        Pack5(q, y[2..6], y[6..22]);
    }

    private static void Q5_1(Span<float> x, Span<byte> y)
    {
        float min = float.MaxValue, max = -float.MaxValue;
        foreach (float v in x)
        {
            min = v < min ? v : min;
            max = v > max ? v : max;
        }
        float d = (max - min) / 31;
        float id = d != 0 ? 1f / d : 0f;
        Half(y, d);
        Half(y[2..], min);
        var q = new int[32];
        for (int j = 0; j < 32; j++)
        {
            float xs = (x[j] - min) * id;
            float s = xs + 0.5f;
            q[j] = (int)MathF.Truncate(s);
        }
        Pack5(q, y[4..8], y[8..24]);
    }

    /// <summary>Five-bit quants: low nibbles of j and j+16 share byte j; bit 4 of quant j is bit j of the little-endian qh word.</summary>
    private static void Pack5(int[] q, Span<byte> qh, Span<byte> qs)
    {
        uint high = 0;
        for (int j = 0; j < 32; j++)
        {
            high |= (uint)((q[j] >> 4) & 1) << j;
        }
        for (int j = 0; j < 16; j++)
        {
            qs[j] = (byte)((q[j] & 15) | ((q[j + 16] & 15) << 4));
        }
        BinaryPrimitives.WriteUInt32LittleEndian(qh, high);
    }

    private static float MakeQkx2(int nmax, Span<float> x, float[] w, int[] l, out float negMin, float rmin, int nstep)
    {
        int n = x.Length;
        float min = x[0], max = x[0], sumW = w[0], sumX = sumW * x[0];
        for (int i = 1; i < n; i++)
        {
            min = x[i] < min ? x[i] : min;
            max = x[i] > max ? x[i] : max;
            sumW += w[i];
            sumX += w[i] * x[i];
        }
        if (min > 0)
        {
            min = 0;
        }
        if (max == min)
        {
            Array.Clear(l);
            negMin = -min;
            return 0;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float best = 0;
        for (int i = 0; i < n; i++)
        {
            l[i] = Math.Clamp(NearestInt(iscale * (x[i] - min)), 0, nmax);
            float diff = scale * l[i] + min - x[i];
            diff = diff * diff;
            best += w[i] * diff;
        }
        var aux = new int[n];
        for (int step = 0; step <= nstep; step++)
        {
            iscale = (rmin + 0.1f * step + nmax) / (max - min);
            float sumL = 0, sumL2 = 0, sumXl = 0;
            for (int i = 0; i < n; i++)
            {
                aux[i] = Math.Clamp(NearestInt(iscale * (x[i] - min)), 0, nmax);
                float wl = w[i] * aux[i];
                sumL += wl;
                sumL2 += wl * aux[i];
                sumXl += wl * x[i];
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
                float err = 0;
                for (int i = 0; i < n; i++)
                {
                    float diff = thisScale * aux[i] + thisMin - x[i];
                    diff = diff * diff;
                    err += w[i] * diff;
                }
                if (err < best)
                {
                    Array.Copy(aux, l, n);
                    best = err;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        negMin = -min;
        return scale;
    }

    /// <summary>Q4_K (nmax 15) and Q5_K (nmax 31): 8 sub-blocks of 32 with 6-bit scales and mins.</summary>
    private static void Q4K5K(Span<float> x, Span<byte> y, int nmax)
    {
        y.Clear();
        var l = new int[256];
        var scales = new float[8];
        var mins = new float[8];
        float maxScale = 0, maxMin = 0;
        for (int j = 0; j < 8; j++)
        {
            var xs = x.Slice(32 * j, 32);
            float sumX2 = 0;
            foreach (float v in xs)
            {
                sumX2 += v * v;
            }
            float av = MathF.Sqrt(sumX2 / 32);
            var w = new float[32];
            for (int i = 0; i < 32; i++)
            {
                w[i] = av + Math.Abs(xs[i]);
            }
            var lj = new int[32];
            scales[j] = nmax == 15 ? MakeQkx2(15, xs, w, lj, out mins[j], -1f, 20) : MakeQkx2(31, xs, w, lj, out mins[j], -0.5f, 15);
            Array.Copy(lj, 0, l, 32 * j, 32);
            maxScale = scales[j] > maxScale ? scales[j] : maxScale;
            maxMin = mins[j] > maxMin ? mins[j] : maxMin;
        }
        float invScale = maxScale > 0 ? 63f / maxScale : 0f;
        float invMin = maxMin > 0 ? 63f / maxMin : 0f;
        var ls = new int[8];
        var lm = new int[8];
        var sc = y.Slice(4, 12);
        for (int j = 0; j < 8; j++)
        {
            ls[j] = Math.Min(63, NearestInt(invScale * scales[j]) & 0xFF);
            lm[j] = Math.Min(63, NearestInt(invMin * mins[j]) & 0xFF);
        }
        // 12 bytes: scales 0-3 and mins 0-3 in the low 6 bits of bytes 0-7; 4-7 as nibbles in bytes 8-11, high bits on top of 0-7.
        for (int j = 0; j < 4; j++)
        {
            sc[j] = (byte)(ls[j] | ((ls[j + 4] >> 4) << 6));
            sc[j + 4] = (byte)(lm[j] | ((lm[j + 4] >> 4) << 6));
            sc[j + 8] = (byte)((ls[j + 4] & 15) | ((lm[j + 4] & 15) << 4));
        }
        Half(y, maxScale / 63f);
        Half(y[2..], maxMin / 63f);
        float dAll = Half(y), dminAll = Half(y[2..]);
        for (int j = 0; j < 8; j++)
        {
            float d = dAll * ls[j];
            if (d == 0)
            {
                continue;
            }
            float dm = dminAll * lm[j];
            for (int i = 0; i < 32; i++)
            {
                float v = x[32 * j + i] + dm;
                l[32 * j + i] = Math.Clamp(NearestInt(v / d), 0, nmax);
            }
        }
        // Quants of each 64-value chunk: the first 32 in the low bits, the next 32 in the high bits (Q5_K: bit 4 in qh).
        int qsAt = nmax == 15 ? 16 : 48;
        for (int c = 0; c < 4; c++)
        {
            for (int i = 0; i < 32; i++)
            {
                int lo = l[64 * c + i], hi = l[64 * c + 32 + i];
                y[qsAt + 32 * c + i] = (byte)((lo & 15) | ((hi & 15) << 4));
                if (nmax == 31)
                {
                    y[16 + i] |= (byte)(((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
                }
            }
        }
    }

    /// <summary>make_qx_quants with rmse_type 1 (weights x squared); returns the scale, l in [0, 2*nmax).</summary>
    private static float MakeQx(int nmax, Span<float> block, int[] l)
    {
        float[] x = block.ToArray();
        float max = 0, amax = 0;
        foreach (float v in x)
        {
            if (Math.Abs(v) > amax)
            {
                amax = Math.Abs(v);
                max = v;
            }
        }
        if (amax < 1e-15f)
        {
            Array.Clear(l);
            return 0;
        }
        float Sums(float iscale, int[]? store, out float suml2)
        {
            float sumlx = 0;
            suml2 = 0;
            for (int i = 0; i < x.Length; i++)
            {
                int q = Math.Clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1);
                if (store is not null)
                {
                    store[i] = q + nmax;
                }
                float w = x[i] * x[i];
                sumlx += w * x[i] * q;
                suml2 += w * q * q;
            }
            return sumlx;
        }
        float lx = Sums(-nmax / max, l, out float l2);
        float scale = l2 != 0 ? lx / l2 : 0f;
        float best = scale * lx;
        for (int step = -9; step <= 9; step++)
        {
            if (step == 0)
            {
                continue;
            }
            float iscale = -(nmax + 0.1f * step) / max;
            lx = Sums(iscale, null, out l2);
            if (l2 > 0 && lx * lx > best * l2)
            {
                Sums(iscale, l, out _);
                scale = lx / l2;
                best = scale * lx;
            }
        }
        return scale;
    }

    private static void Q6_K(Span<float> x, Span<byte> y)
    {
        y.Clear();
        var l = new int[256];
        var scales = new float[16];
        float maxScale = 0, maxAbs = 0;
        for (int b = 0; b < 16; b++)
        {
            var lb = new int[16];
            scales[b] = MakeQx(32, x.Slice(16 * b, 16), lb);
            Array.Copy(lb, 0, l, 16 * b, 16);
            if (Math.Abs(scales[b]) > maxAbs)
            {
                maxAbs = Math.Abs(scales[b]);
                maxScale = scales[b];
            }
        }
        if (maxAbs < 1e-15f)
        {
            return;
        }
        float iscale = -128f / maxScale;
        Half(y[208..], 1 / iscale);
        var sc = new int[16];
        for (int b = 0; b < 16; b++)
        {
            sc[b] = (sbyte)Math.Min(127, NearestInt(iscale * scales[b]));
            y[192 + b] = unchecked((byte)(sbyte)sc[b]);
        }
        float dAll = Half(y[208..]);
        for (int b = 0; b < 16; b++)
        {
            float d = dAll * sc[b];
            if (d == 0)
            {
                continue;
            }
            for (int i = 0; i < 16; i++)
            {
                l[16 * b + i] = Math.Clamp(NearestInt(x[16 * b + i] / d), -32, 31) + 32;
            }
        }
        // Two halves of 128: ql holds low nibbles (values i and i+64 share a byte, i+32 and i+96 another), qh the 2-bit tops.
        for (int h = 0; h < 2; h++)
        {
            for (int i = 0; i < 32; i++)
            {
                int a = l[128 * h + i], b = l[128 * h + 32 + i], c = l[128 * h + 64 + i], e = l[128 * h + 96 + i];
                y[64 * h + i] = (byte)((a & 15) | ((c & 15) << 4));
                y[64 * h + 32 + i] = (byte)((b & 15) | ((e & 15) << 4));
                y[128 + 32 * h + i] = (byte)((a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6));
            }
        }
    }
}
