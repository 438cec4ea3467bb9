using System.Numerics;

namespace EdgeAvsr.Runtime.Audio;

/// <summary>Design of a <see cref="Resampler"/>'s Kaiser-windowed sinc filter.</summary>
public sealed record ResamplerDesign
{
    /// <summary>Zero crossings of the sinc on each side of the centre (the filter's half-length, in units of the lower rate).</summary>
    public int ZeroCrossings { get; init; } = 48;

    /// <summary>Cutoff as a fraction of the lower rate's Nyquist frequency.</summary>
    public double Rolloff { get; init; } = 0.94;

    /// <summary>Kaiser window shape: 9.0 gives about 90 dB of stopband attenuation.</summary>
    public double Beta { get; init; } = 9.0;

    /// <summary>
    /// The default: with 48 zero crossings the transition band is about 0.06 x the lower rate wide and ends
    /// just below the lower rate's Nyquist (0.498 x rate), so nothing aliases or images above it; at 16 kHz the
    /// passband is flat to about 7.0 kHz.
    /// </summary>
    public static ResamplerDesign Default { get; } = new();
}

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

/// <summary>
/// <see cref="Resampler"/> over input pushed in pieces: <see cref="Push"/> returns the outputs whose whole filter window has
/// arrived, <see cref="Finish"/> the rest (zeros after the end, as <see cref="Resampler.Process"/> pads). Concatenated, they
/// equal <see cref="Resampler.Process"/> of the whole input exactly: the same taps and the same dot products, in the same
/// order. Keeps only the input the next outputs still need.
/// </summary>
public sealed class ResamplerStream
{
    private readonly Resampler _resampler;
    private float[] _buffer = new float[4096];
    private long _bufferStart;   // input index of _buffer[0]
    private int _count;          // valid samples in _buffer
    private long _received;
    private long _next;          // next output index
    private bool _finished;

    internal ResamplerStream(Resampler resampler) => _resampler = resampler;

    /// <summary>Input samples received so far.</summary>
    public long Received => _received;

    public float[] Push(ReadOnlySpan<float> input)
    {
        if (_finished)
        {
            throw new InvalidOperationException("the stream was finished");
        }
        Append(input);
        _received += input.Length;
        // An output is final once its window has arrived and it lies inside ceil(received n / o).
        long limit = (_received * _resampler.Up + _resampler.Down - 1) / _resampler.Down;
        return Emit(limit, windowMustBeComplete: true);
    }

    public float[] Finish()
    {
        if (_finished)
        {
            return [];
        }
        _finished = true;
        long total = (_received * _resampler.Up + _resampler.Down - 1) / _resampler.Down;
        return Emit(total, windowMustBeComplete: false);
    }

    private float[] Emit(long limit, bool windowMustBeComplete)
    {
        var output = new List<float>();
        float[] scratch = [];
        for (; _next < limit; _next++)
        {
            var (first, taps) = _resampler.Window(_next);
            long end = first + taps.Length;
            if (windowMustBeComplete && end > _received)
            {
                break;
            }
            ReadOnlySpan<float> x;
            if (first >= _bufferStart && end <= _bufferStart + _count)
            {
                x = _buffer.AsSpan((int)(first - _bufferStart), taps.Length);
            }
            else
            {
                // The window reaches before the signal or after its end: zeros there, as Process pads.
                if (scratch.Length < taps.Length)
                {
                    scratch = new float[taps.Length];
                }
                Array.Clear(scratch);
                for (long k = Math.Max(first, _bufferStart); k < Math.Min(end, _bufferStart + _count); k++)
                {
                    scratch[k - first] = _buffer[k - _bufferStart];
                }
                x = scratch.AsSpan(0, taps.Length);
            }
            output.Add(Resampler.DotProduct(x, taps));
        }
        // Drop what no later output reads (windows only move forward).
        long keep = Math.Max(_bufferStart, _resampler.Window(_next).FirstInput);
        int drop = (int)Math.Min(_count, keep - _bufferStart);
        if (drop > 0)
        {
            _buffer.AsSpan(drop, _count - drop).CopyTo(_buffer);
            _count -= drop;
            _bufferStart += drop;
        }
        return [.. output];
    }

    private void Append(ReadOnlySpan<float> input)
    {
        if (_count + input.Length > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _count + input.Length));
        }
        input.CopyTo(_buffer.AsSpan(_count));
        _count += input.Length;
    }
}
