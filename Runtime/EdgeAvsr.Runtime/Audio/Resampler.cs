using System.Numerics;

namespace EdgeAvsr.Runtime.Audio;

/// <summary>
/// Band-limited rational resampler: polyphase Kaiser-windowed sinc. For rates f_in and f_out with
/// g = gcd, o = f_in / g and n = f_out / g, output sample y[m] (at time m / f_out) is
/// <c>sum_k x[k] h(t)</c> with <c>t = base (k / o - m / n)</c>, <c>base = rolloff min(o, n)</c>,
/// <c>h(t) = (base / o) sinc(t) I0(beta sqrt(1 - (t / W)^2)) / I0(beta)</c> for <c>|t| &lt; W</c>: the same filter
/// family as torchaudio's <c>sinc_interp_kaiser</c>. The n phases' taps are computed once (fp64, stored fp32);
/// each output is one dot product. Samples outside the input are zero. Output length is <c>ceil(len n / o)</c>.
/// </summary>
public sealed class Resampler
{
    private readonly float[][] _taps;
    private readonly int[] _firstInput;

    public Resampler(int inputRate, int outputRate, ResamplerDesign? design = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inputRate, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outputRate, 1);
        Design = design ?? ResamplerDesign.Default;
        ArgumentOutOfRangeException.ThrowIfLessThan(Design.ZeroCrossings, 1);
        InputRate = inputRate;
        OutputRate = outputRate;
        int g = Gcd(inputRate, outputRate);
        Up = outputRate / g;
        Down = inputRate / g;
        if ((long)Up * Design.ZeroCrossings * Math.Max(Down, Up) / Math.Min(Down, Up) > 64_000_000)
        {
            throw new EdgeAvsrException($"resampling {inputRate} Hz to {outputRate} Hz needs too large a filter table (the rates share no useful " +
                "common factor)");
        }
        _taps = new float[Up][];
        _firstInput = new int[Up];
        double baseFreq = Design.Rolloff * Math.Min(Up, Down);
        int w = Design.ZeroCrossings;
        double i0Beta = BesselI0(Design.Beta);
        double scale = baseFreq / Down;
        for (int j = 0; j < Up; j++)
        {
            // Input k contributes while |base (k / o - j / n)| < W, i.e. k in (o (j / n - W / base), o (j / n + W / base)).
            double centre = (double)j * Down / Up;
            double half = w * Down / baseFreq;
            int k0 = (int)Math.Floor(centre - half);
            int k1 = (int)Math.Ceiling(centre + half);
            var taps = new List<float>(k1 - k0 + 1);
            int first = int.MinValue;
            for (int k = k0; k <= k1; k++)
            {
                double t = baseFreq * ((double)k / Down - (double)j / Up);
                if (Math.Abs(t) >= w)
                {
                    continue;
                }
                if (first == int.MinValue)
                {
                    first = k;
                }
                double r = t / w;
                double window = BesselI0(Design.Beta * Math.Sqrt(1 - r * r)) / i0Beta;
                double sinc = t == 0 ? 1 : Math.Sin(Math.PI * t) / (Math.PI * t);
                taps.Add((float)(scale * sinc * window));
            }
            _firstInput[j] = first;
            _taps[j] = taps.ToArray();
        }
        MaxTaps = _taps.Max(t => t.Length);
    }

    public int InputRate { get; }

    public int OutputRate { get; }

    public ResamplerDesign Design { get; }

    /// <summary>Output samples per block (f_out / gcd).</summary>
    public int Up { get; }

    /// <summary>Input samples per block (f_in / gcd).</summary>
    public int Down { get; }

    /// <summary>Taps of the longest phase (the multiply-adds per output sample).</summary>
    public int MaxTaps { get; }

    /// <summary>Resamples <paramref name="input"/> to <see cref="OutputRate"/>.</summary>
    public float[] Process(ReadOnlySpan<float> input)
    {
        long outLength = ((long)input.Length * Up + Down - 1) / Down;
        var output = new float[outLength];
        if (input.Length == 0)
        {
            return output;
        }
        // Pad with zeros so every dot product reads inside the buffer.
        int pad = MaxTaps + Down + 1;
        var x = new float[input.Length + 2 * pad];
        input.CopyTo(x.AsSpan(pad));
        int blocks = (int)((outLength + Up - 1) / Up);
        int chunk = Math.Max(1, 4096 / Up);
        Parallel.For(0, (blocks + chunk - 1) / chunk, c =>
        {
            int bEnd = Math.Min(blocks, (c + 1) * chunk);
            for (int b = c * chunk; b < bEnd; b++)
            {
                long baseOut = (long)b * Up;
                int jEnd = (int)Math.Min(Up, outLength - baseOut);
                for (int j = 0; j < jEnd; j++)
                {
                    int start = pad + b * Down + _firstInput[j];
                    var taps = _taps[j];
                    output[baseOut + j] = Dot(x.AsSpan(start, taps.Length), taps);
                }
            }
        });
        return output;
    }

    /// <summary>A resampler for audio that arrives in pieces: the same outputs as <see cref="Process"/> on the whole, bit for bit.</summary>
    public ResamplerStream OpenStream() => new(this);

    /// <summary>Output <paramref name="m"/>'s first input sample (may be negative: zeros before the signal) and its taps.</summary>
    internal (long FirstInput, float[] Taps) Window(long m)
    {
        long b = m / Up;
        int j = (int)(m % Up);
        return (b * Down + _firstInput[j], _taps[j]);
    }

    internal static float DotProduct(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => Dot(a, b);

    /// <summary>Resamples a signal to <paramref name="outputRate"/> with the default design (a copy when the rate already matches).</summary>
    public static AudioSignal To(AudioSignal signal, int outputRate)
    {
        ArgumentNullException.ThrowIfNull(signal);
        if (signal.SampleRate == outputRate)
        {
            return signal;
        }
        return new AudioSignal(new Resampler(signal.SampleRate, outputRate).Process(signal.Samples), outputRate);
    }

    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        int n = a.Length;
        int i = 0;
        float sum = 0;
        if (Vector.IsHardwareAccelerated && n >= 2 * Vector<float>.Count)
        {
            var acc0 = Vector<float>.Zero;
            var acc1 = Vector<float>.Zero;
            int w = Vector<float>.Count;
            for (; i + 2 * w <= n; i += 2 * w)
            {
                acc0 += new Vector<float>(a[i..]) * new Vector<float>(b[i..]);
                acc1 += new Vector<float>(a[(i + w)..]) * new Vector<float>(b[(i + w)..]);
            }
            sum = Vector.Sum(acc0 + acc1);
        }
        for (; i < n; i++)
        {
            sum += a[i] * b[i];
        }
        return sum;
    }

    private static int Gcd(int a, int b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }
        return a;
    }

    /// <summary>Modified Bessel function of the first kind, order 0 (power series; converges for the betas used here).</summary>
    internal static double BesselI0(double x)
    {
        double sum = 1, term = 1, q = x * x / 4;
        for (int k = 1; k < 500; k++)
        {
            term *= q / ((double)k * k);
            sum += term;
            if (term < sum * 1e-17)
            {
                break;
            }
        }
        return sum;
    }
}
