using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EdgeAvsr.Runtime.Audio;

/// <summary>
/// Complex forward DFT of size N (<c>X[k] = sum_j x[j] exp(-2 pi i j k / N)</c>) computed for
/// <see cref="Vector{T}"/>.Count independent signals at once: lane l of every vector belongs to signal l,
/// so the butterflies need no shuffles and the same code is AVX2 on x64 and Neon on Arm64.
/// Mixed-radix Stockham (decimation in frequency, natural order out) with radix-4 and radix-5 butterflies,
/// radix 2 and 3, and a direct DFT for any other prime factor.
/// </summary>
internal sealed class LaneFft
{
    private readonly Stage[] _stages;

    public LaneFft(int n)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        N = n;
        var stages = new List<Stage>();
        int length = n;
        foreach (int p in Factor(n))
        {
            int m = length / p;
            var cos = new float[m * (p - 1)];
            var sin = new float[m * (p - 1)];
            for (int pp = 0; pp < m; pp++)
            {
                for (int k = 1; k < p; k++)
                {
                    double angle = -2 * Math.PI * k * pp / length;
                    cos[pp * (p - 1) + k - 1] = (float)Math.Cos(angle);
                    sin[pp * (p - 1) + k - 1] = (float)Math.Sin(angle);
                }
            }
            var rootCos = new float[p];
            var rootSin = new float[p];
            for (int k = 0; k < p; k++)
            {
                rootCos[k] = (float)Math.Cos(-2 * Math.PI * k / p);
                rootSin[k] = (float)Math.Sin(-2 * Math.PI * k / p);
            }
            stages.Add(new Stage(p, m, cos, sin, rootCos, rootSin));
            length = m;
        }
        _stages = stages.ToArray();
    }

    public int N { get; }

    /// <summary>Transforms <paramref name="re"/>/<paramref name="im"/> (length N each) in place; the work arrays are scratch of the same length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Forward(Vector<float>[] re, Vector<float>[] im, Vector<float>[] workRe, Vector<float>[] workIm)
    {
        var xr = re;
        var xi = im;
        var yr = workRe;
        var yi = workIm;
        int s = 1;
        foreach (var st in _stages)
        {
            switch (st.P)
            {
                case 4:
                    Radix4(st, s, xr, xi, yr, yi);
                    break;
                case 5:
                    Radix5(st, s, xr, xi, yr, yi);
                    break;
                case 2:
                    Radix2(st, s, xr, xi, yr, yi);
                    break;
                default:
                    RadixGeneric(st, s, xr, xi, yr, yi);
                    break;
            }
            (xr, yr) = (yr, xr);
            (xi, yi) = (yi, xi);
            s *= st.P;
        }
        if (!ReferenceEquals(xr, re))
        {
            xr.AsSpan(0, N).CopyTo(re);
            xi.AsSpan(0, N).CopyTo(im);
        }
    }

    private sealed record Stage(int P, int M, float[] Cos, float[] Sin, float[] RootCos, float[] RootSin);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Radix2(Stage st, int s, Vector<float>[] xr, Vector<float>[] xi, Vector<float>[] yr, Vector<float>[] yi)
    {
        ref var xr0 = ref MemoryMarshal.GetArrayDataReference(xr);
        ref var xi0 = ref MemoryMarshal.GetArrayDataReference(xi);
        ref var yr0 = ref MemoryMarshal.GetArrayDataReference(yr);
        ref var yi0 = ref MemoryMarshal.GetArrayDataReference(yi);
        int m = st.M;
        for (int pp = 0; pp < m; pp++)
        {
            var w1r = new Vector<float>(st.Cos[pp]);
            var w1i = new Vector<float>(st.Sin[pp]);
            int i0 = s * pp, i1 = s * (pp + m), o0 = s * 2 * pp, o1 = o0 + s;
            for (int q = 0; q < s; q++)
            {
                var ar = Unsafe.Add(ref xr0, i0 + q);
                var ai = Unsafe.Add(ref xi0, i0 + q);
                var br = Unsafe.Add(ref xr0, i1 + q);
                var bi = Unsafe.Add(ref xi0, i1 + q);
                Unsafe.Add(ref yr0, o0 + q) = ar + br;
                Unsafe.Add(ref yi0, o0 + q) = ai + bi;
                var dr = ar - br;
                var di = ai - bi;
                Unsafe.Add(ref yr0, o1 + q) = dr * w1r - di * w1i;
                Unsafe.Add(ref yi0, o1 + q) = dr * w1i + di * w1r;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Radix4(Stage st, int s, Vector<float>[] xr, Vector<float>[] xi, Vector<float>[] yr, Vector<float>[] yi)
    {
        ref var xr0 = ref MemoryMarshal.GetArrayDataReference(xr);
        ref var xi0 = ref MemoryMarshal.GetArrayDataReference(xi);
        ref var yr0 = ref MemoryMarshal.GetArrayDataReference(yr);
        ref var yi0 = ref MemoryMarshal.GetArrayDataReference(yi);
        int m = st.M;
        for (int pp = 0; pp < m; pp++)
        {
            int t = pp * 3;
            var w1r = new Vector<float>(st.Cos[t]);
            var w1i = new Vector<float>(st.Sin[t]);
            var w2r = new Vector<float>(st.Cos[t + 1]);
            var w2i = new Vector<float>(st.Sin[t + 1]);
            var w3r = new Vector<float>(st.Cos[t + 2]);
            var w3i = new Vector<float>(st.Sin[t + 2]);
            int i0 = s * pp, i1 = s * (pp + m), i2 = s * (pp + 2 * m), i3 = s * (pp + 3 * m);
            int o0 = s * 4 * pp, o1 = o0 + s, o2 = o1 + s, o3 = o2 + s;
            for (int q = 0; q < s; q++)
            {
                var a0r = Unsafe.Add(ref xr0, i0 + q);
                var a0i = Unsafe.Add(ref xi0, i0 + q);
                var a1r = Unsafe.Add(ref xr0, i1 + q);
                var a1i = Unsafe.Add(ref xi0, i1 + q);
                var a2r = Unsafe.Add(ref xr0, i2 + q);
                var a2i = Unsafe.Add(ref xi0, i2 + q);
                var a3r = Unsafe.Add(ref xr0, i3 + q);
                var a3i = Unsafe.Add(ref xi0, i3 + q);
                var t0r = a0r + a2r;
                var t0i = a0i + a2i;
                var t1r = a0r - a2r;
                var t1i = a0i - a2i;
                var t2r = a1r + a3r;
                var t2i = a1i + a3i;
                var t3r = a1r - a3r;
                var t3i = a1i - a3i;
                Unsafe.Add(ref yr0, o0 + q) = t0r + t2r;
                Unsafe.Add(ref yi0, o0 + q) = t0i + t2i;
                // b1 = t1 - i t3, b2 = t0 - t2, b3 = t1 + i t3
                var b1r = t1r + t3i;
                var b1i = t1i - t3r;
                var b2r = t0r - t2r;
                var b2i = t0i - t2i;
                var b3r = t1r - t3i;
                var b3i = t1i + t3r;
                Unsafe.Add(ref yr0, o1 + q) = b1r * w1r - b1i * w1i;
                Unsafe.Add(ref yi0, o1 + q) = b1r * w1i + b1i * w1r;
                Unsafe.Add(ref yr0, o2 + q) = b2r * w2r - b2i * w2i;
                Unsafe.Add(ref yi0, o2 + q) = b2r * w2i + b2i * w2r;
                Unsafe.Add(ref yr0, o3 + q) = b3r * w3r - b3i * w3i;
                Unsafe.Add(ref yi0, o3 + q) = b3r * w3i + b3i * w3r;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Radix5(Stage st, int s, Vector<float>[] xr, Vector<float>[] xi, Vector<float>[] yr, Vector<float>[] yi)
    {
        ref var xr0 = ref MemoryMarshal.GetArrayDataReference(xr);
        ref var xi0 = ref MemoryMarshal.GetArrayDataReference(xi);
        ref var yr0 = ref MemoryMarshal.GetArrayDataReference(yr);
        ref var yi0 = ref MemoryMarshal.GetArrayDataReference(yi);
        int m = st.M;
        var c1 = new Vector<float>(st.RootCos[1]);
        var c2 = new Vector<float>(st.RootCos[2]);
        // Forward roots are cos - i sin with sin > 0 for k = 1, 2: RootSin holds -sin.
        var s1 = new Vector<float>(-st.RootSin[1]);
        var s2 = new Vector<float>(-st.RootSin[2]);
        for (int pp = 0; pp < m; pp++)
        {
            int t = pp * 4;
            int i0 = s * pp, i1 = s * (pp + m), i2 = s * (pp + 2 * m), i3 = s * (pp + 3 * m), i4 = s * (pp + 4 * m);
            int o0 = s * 5 * pp;
            bool plain = pp == 0;
            for (int q = 0; q < s; q++)
            {
                var a0r = Unsafe.Add(ref xr0, i0 + q);
                var a0i = Unsafe.Add(ref xi0, i0 + q);
                var u1r = Unsafe.Add(ref xr0, i1 + q) + Unsafe.Add(ref xr0, i4 + q);
                var u1i = Unsafe.Add(ref xi0, i1 + q) + Unsafe.Add(ref xi0, i4 + q);
                var v1r = Unsafe.Add(ref xr0, i1 + q) - Unsafe.Add(ref xr0, i4 + q);
                var v1i = Unsafe.Add(ref xi0, i1 + q) - Unsafe.Add(ref xi0, i4 + q);
                var u2r = Unsafe.Add(ref xr0, i2 + q) + Unsafe.Add(ref xr0, i3 + q);
                var u2i = Unsafe.Add(ref xi0, i2 + q) + Unsafe.Add(ref xi0, i3 + q);
                var v2r = Unsafe.Add(ref xr0, i2 + q) - Unsafe.Add(ref xr0, i3 + q);
                var v2i = Unsafe.Add(ref xi0, i2 + q) - Unsafe.Add(ref xi0, i3 + q);
                Unsafe.Add(ref yr0, o0 + q) = a0r + u1r + u2r;
                Unsafe.Add(ref yi0, o0 + q) = a0i + u1i + u2i;
                var p1r = a0r + c1 * u1r + c2 * u2r;
                var p1i = a0i + c1 * u1i + c2 * u2i;
                var p2r = a0r + c2 * u1r + c1 * u2r;
                var p2i = a0i + c2 * u1i + c1 * u2i;
                var q1r = s1 * v1r + s2 * v2r;
                var q1i = s1 * v1i + s2 * v2i;
                var q2r = s2 * v1r - s1 * v2r;
                var q2i = s2 * v1i - s1 * v2i;
                // b1 = p1 - i q1, b4 = p1 + i q1, b2 = p2 - i q2, b3 = p2 + i q2; -i (x + iy) = y - ix.
                var b1r = p1r + q1i;
                var b1i = p1i - q1r;
                var b4r = p1r - q1i;
                var b4i = p1i + q1r;
                var b2r = p2r + q2i;
                var b2i = p2i - q2r;
                var b3r = p2r - q2i;
                var b3i = p2i + q2r;
                int o = o0 + q;
                if (plain)
                {
                    Unsafe.Add(ref yr0, o + s) = b1r;
                    Unsafe.Add(ref yi0, o + s) = b1i;
                    Unsafe.Add(ref yr0, o + 2 * s) = b2r;
                    Unsafe.Add(ref yi0, o + 2 * s) = b2i;
                    Unsafe.Add(ref yr0, o + 3 * s) = b3r;
                    Unsafe.Add(ref yi0, o + 3 * s) = b3i;
                    Unsafe.Add(ref yr0, o + 4 * s) = b4r;
                    Unsafe.Add(ref yi0, o + 4 * s) = b4i;
                    continue;
                }
                Twiddle(ref Unsafe.Add(ref yr0, o + s), ref Unsafe.Add(ref yi0, o + s), b1r, b1i, st.Cos[t], st.Sin[t]);
                Twiddle(ref Unsafe.Add(ref yr0, o + 2 * s), ref Unsafe.Add(ref yi0, o + 2 * s), b2r, b2i, st.Cos[t + 1], st.Sin[t + 1]);
                Twiddle(ref Unsafe.Add(ref yr0, o + 3 * s), ref Unsafe.Add(ref yi0, o + 3 * s), b3r, b3i, st.Cos[t + 2], st.Sin[t + 2]);
                Twiddle(ref Unsafe.Add(ref yr0, o + 4 * s), ref Unsafe.Add(ref yi0, o + 4 * s), b4r, b4i, st.Cos[t + 3], st.Sin[t + 3]);
            }
        }
    }

    private static void Twiddle(ref Vector<float> outR, ref Vector<float> outI, Vector<float> br, Vector<float> bi, float c, float sn)
    {
        var wr = new Vector<float>(c);
        var wi = new Vector<float>(sn);
        outR = br * wr - bi * wi;
        outI = br * wi + bi * wr;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RadixGeneric(Stage st, int s, Vector<float>[] xr, Vector<float>[] xi, Vector<float>[] yr, Vector<float>[] yi)
    {
        int p = st.P, m = st.M;
        var ar = new Vector<float>[p];
        var ai = new Vector<float>[p];
        for (int pp = 0; pp < m; pp++)
        {
            for (int q = 0; q < s; q++)
            {
                for (int r = 0; r < p; r++)
                {
                    ar[r] = xr[s * (pp + r * m) + q];
                    ai[r] = xi[s * (pp + r * m) + q];
                }
                for (int k = 0; k < p; k++)
                {
                    var br = Vector<float>.Zero;
                    var bi = Vector<float>.Zero;
                    for (int r = 0; r < p; r++)
                    {
                        int e = r * k % p;
                        var cr = new Vector<float>(st.RootCos[e]);
                        var ci = new Vector<float>(st.RootSin[e]);
                        br += ar[r] * cr - ai[r] * ci;
                        bi += ar[r] * ci + ai[r] * cr;
                    }
                    int o = s * (p * pp + k) + q;
                    if (k == 0)
                    {
                        yr[o] = br;
                        yi[o] = bi;
                    }
                    else
                    {
                        Twiddle(ref yr[o], ref yi[o], br, bi, st.Cos[pp * (p - 1) + k - 1], st.Sin[pp * (p - 1) + k - 1]);
                    }
                }
            }
        }
    }

    // Fours first (the cheapest butterflies carry the most twiddles), then fives, then the rest.
    private static List<int> Factor(int n)
    {
        var factors = new List<int>();
        while (n % 4 == 0)
        {
            factors.Add(4);
            n /= 4;
        }
        while (n % 5 == 0)
        {
            factors.Add(5);
            n /= 5;
        }
        for (int p = 2; n > 1; p++)
        {
            while (n % p == 0)
            {
                factors.Add(p);
                n /= p;
            }
        }
        return factors;
    }
}
