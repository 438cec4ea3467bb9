using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EdgeAvsr.Runtime.Audio;

/// <summary>
/// Whisper's log-mel spectrogram, exactly: the 16 kHz signal padded with zeros or trimmed to 30 s
/// (480000 samples); reflect-padded by n_fft / 2 = 200 on both sides (centred frames); n_fft 400,
/// hop 160, periodic Hann window; 3001 frames of which the last is dropped (3000); power spectrum
/// |X|^2 of the 201 one-sided bins; 80 Slaney mel filters (0-8 kHz, Slaney area normalisation);
/// log10 with a floor of 1e-10; clamped below at (max - 8) over the whole [80, 3000] window; then (x + 4) / 4.
/// A shorter window (a pack's <c>front_end.mel_frames</c>, for an encoder trained on fewer frames) takes the same steps
/// on <c>frames x 160</c> samples: padded/trimmed to that length, reflect-padded at its ends, the clamp over its frames.
/// </summary>
/// <remarks>
/// Speed: frames go through <see cref="LaneFft"/> in batches of 2 x <see cref="Vector{T}"/>.Count: one 400-point
/// complex FFT per lane carries two real frames (one as the real part, one as the imaginary part), separated
/// afterwards by the conjugate symmetry of real signals. The mel sums use only the filters' non-zero weights, and
/// the batches are spread over threads.
/// </remarks>
public sealed class WhisperLogMel
{
    public const int SampleRate = 16000;
    /// <summary>Samples of Whisper's 30 s window.</summary>
    public const int ChunkSamples = 480000;
    public const int FftSize = 400;
    public const int HopLength = 160;
    /// <summary>Frames of Whisper's 30 s window, the default <see cref="WindowFrames"/>.</summary>
    public const int Frames = 3000;
    public const int MelBins = 80;
    private const int Bins = FftSize / 2 + 1;

    // Each complex transform carries two real frames: f in its real part, f + PairDistance in its imaginary part. Their
    // separation mixes the pair's rounding, so the partner is fixed (not the lane count): every frame gets the same bits
    // with 4, 8 or 16 lanes (arm64 NEON, AVX2, AVX-512), and the Jetson's features equal an x64 machine's.
    private const int PairDistance = 16;

    private readonly LaneFft _fft = new(FftSize);
    private readonly float[] _window = new float[FftSize];
    private readonly int _threads;

    /// <param name="threads">Worker threads; 0 = one per core.</param>
    /// <param name="frames">Log-mel frames of the window (Whisper: 3000 = 30 s); the encoder's input width.</param>
    public WhisperLogMel(int threads = 0, int frames = Frames)
    {
        _threads = ThreadCount.Resolve(threads);
        if (frames < 1 || frames > Frames)
        {
            throw new EdgeAvsrException($"a log-mel window of {frames} frames: expected 1 to {Frames} (30 s)");
        }
        WindowFrames = frames;
        WindowSamples = frames * HopLength;
        for (int j = 0; j < FftSize; j++)
        {
            _window[j] = (float)(0.5 - 0.5 * Math.Cos(2 * Math.PI * j / FftSize));
        }
        Filters = new MelFilterBank(SampleRate, FftSize, MelBins, 0, SampleRate / 2.0);
        _melWeights = Filters.Weights;
        _melFirst = Filters.First;
    }

    private readonly float[][] _melWeights;
    private readonly int[] _melFirst;

    public MelFilterBank Filters { get; }

    /// <summary>Frames per window: the output is <c>[80, WindowFrames]</c>.</summary>
    public int WindowFrames { get; }

    /// <summary>Samples per window (<see cref="WindowFrames"/> x 160): longer input is trimmed, shorter padded with zeros.</summary>
    public int WindowSamples { get; }

    /// <summary>Log-mel features <c>[80, WindowFrames]</c> (row-major) of 16 kHz samples.</summary>
    public float[] Compute(ReadOnlySpan<float> samples)
    {
        var output = GC.AllocateUninitializedArray<float>(MelBins * WindowFrames);
        Compute(samples, output);
        return output;
    }

    /// <summary>
    /// Log-mel features of 16 kHz samples into <paramref name="destination"/> ([80, WindowFrames] row-major). Calls on one
    /// instance are serialised (it keeps its padded-signal and spectrum buffers between calls).
    /// </summary>
    public void Compute(ReadOnlySpan<float> samples, Span<float> destination)
    {
        if (destination.Length < MelBins * WindowFrames)
        {
            throw new ArgumentException($"destination holds {destination.Length} floats, needs {MelBins * WindowFrames}", nameof(destination));
        }
        lock (_gate)
        {
            ComputeLocked(samples, destination);
        }
    }

    private readonly object _gate = new();
    private float[]? _padded;
    private float[]? _logMel;
    private readonly System.Collections.Concurrent.ConcurrentBag<Scratch> _scratch = [];

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ComputeLocked(ReadOnlySpan<float> samples, Span<float> destination)
    {
        int lanes = Vector<float>.Count;
        if (PairDistance % lanes != 0)
        {
            throw new PlatformNotSupportedException($"Vector<float> has {lanes} lanes; the log-mel needs a divisor of {PairDistance}");
        }
        // Groups of 2 * PairDistance frames (the first half paired with the second), PairDistance / lanes batches each.
        const int group = 2 * PairDistance;
        int batchesPerGroup = PairDistance / lanes;
        int frames = WindowFrames, window = WindowSamples;
        int framesPadded = (frames + group - 1) / group * group;
        int batches = framesPadded / group * batchesPerGroup;
        const int pad = FftSize / 2;
        // Frames past the window (only computed to fill the last group) read zeros. The reflect padding needs window + FftSize.
        var x = _padded ??= new float[Math.Max((framesPadded - 1) * HopLength + FftSize, window + FftSize)];
        int n = Math.Min(samples.Length, window);
        samples[..n].CopyTo(x.AsSpan(pad));
        x.AsSpan(pad + n, window - n).Clear();
        x.AsSpan(pad + window).Clear();
        for (int i = 1; i <= pad; i++)
        {
            // torch's reflect padding of the window: index i and window - 1 - i (a window shorter than the pad reads zeros).
            x[pad - i] = i < n ? samples[i] : 0f;
            int mirror = window - 1 - i;
            x[pad + window - 1 + i] = mirror >= 0 && mirror < n ? samples[mirror] : 0f;
        }

        // Spectrum, mel sums and log10 per batch on the worker threads; each worker keeps its running maximum.
        var mel = _logMel ??= new float[MelBins * framesPadded];
        int chunks = (int)Math.Min(batches, _threads * 4L); // long: a huge thread count must not wrap to no work
        var options = new ParallelOptions { MaxDegreeOfParallelism = _threads };
        float max = float.NegativeInfinity;
        var gate = new object();
        Parallel.For(0, chunks, options, () =>
        {
            var scratch = _scratch.TryTake(out var reused) ? reused : new Scratch();
            scratch.Max = new Vector<float>(float.NegativeInfinity);
            return scratch;
        }, (c, _, scratch) =>
        {
            int b0 = (int)((long)batches * c / chunks), b1 = (int)((long)batches * (c + 1) / chunks);
            for (int b = b0; b < b1; b++)
            {
                int realFirst = (b / batchesPerGroup * group) + (b % batchesPerGroup * lanes);
                Batch(x, realFirst, realFirst + PairDistance, mel, framesPadded, frames, scratch);
            }
            return scratch;
        }, scratch =>
        {
            lock (gate)
            {
                for (int l = 0; l < lanes; l++)
                {
                    max = MathF.Max(max, scratch.Max[l]);
                }
            }
            _scratch.Add(scratch);
        });

        var low = new Vector<float>(max - 8f);
        var four = new Vector<float>(4f);
        var quarter = new Vector<float>(0.25f);
        for (int m = 0; m < MelBins; m++)
        {
            var src = mel.AsSpan(m * framesPadded, frames);
            var dst = destination.Slice(m * frames, frames);
            int t = 0;
            for (; t + lanes <= frames; t += lanes)
            {
                ((Vector.Max(new Vector<float>(src[t..]), low) + four) * quarter).CopyTo(dst[t..]);
            }
            for (; t < frames; t++)
            {
                dst[t] = (MathF.Max(src[t], max - 8f) + 4f) * 0.25f;
            }
        }
    }

    private sealed class Scratch
    {
        public readonly Vector<float>[] Re = new Vector<float>[FftSize];
        public readonly Vector<float>[] Im = new Vector<float>[FftSize];
        public readonly Vector<float>[] WorkRe = new Vector<float>[FftSize];
        public readonly Vector<float>[] WorkIm = new Vector<float>[FftSize];
        public readonly Vector<float>[] PowerA = new Vector<float>[Bins];
        public readonly Vector<float>[] PowerB = new Vector<float>[Bins];
        public Vector<float> Max = new(float.NegativeInfinity);
    }

    // Frames realFirst .. + L - 1 in the real parts, imagFirst .. + L - 1 in the imaginary parts (L lanes).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Batch(float[] x, int realFirst, int imagFirst, float[] mel, int framesPadded, int frames, Scratch s)
    {
        int lanes = Vector<float>.Count;
        var re = MemoryMarshal.Cast<Vector<float>, float>(s.Re.AsSpan());
        var im = MemoryMarshal.Cast<Vector<float>, float>(s.Im.AsSpan());
        var w = _window.AsSpan();
        ref float reRef = ref MemoryMarshal.GetReference(re);
        ref float imRef = ref MemoryMarshal.GetReference(im);
        ref float wRef = ref MemoryMarshal.GetReference(w);
        for (int l = 0; l < lanes; l++)
        {
            ref float a = ref MemoryMarshal.GetReference(x.AsSpan((realFirst + l) * HopLength, FftSize));
            ref float b = ref MemoryMarshal.GetReference(x.AsSpan((imagFirst + l) * HopLength, FftSize));
            for (int j = 0; j < FftSize; j++)
            {
                float wj = Unsafe.Add(ref wRef, j);
                Unsafe.Add(ref reRef, j * lanes + l) = Unsafe.Add(ref a, j) * wj;
                Unsafe.Add(ref imRef, j * lanes + l) = Unsafe.Add(ref b, j) * wj;
            }
        }
        _fft.Forward(s.Re, s.Im, s.WorkRe, s.WorkIm);

        // Real-signal separation: A[k] = (Z[k] + conj Z[N-k]) / 2, B[k] = (Z[k] - conj Z[N-k]) / 2i.
        var quarter = new Vector<float>(0.25f);
        for (int k = 0; k < Bins; k++)
        {
            int kk = (FftSize - k) % FftSize;
            var zr = s.Re[k];
            var zi = s.Im[k];
            var cr = s.Re[kk];
            var ci = s.Im[kk];
            var ar = zr + cr;
            var ai = zi - ci;
            var br = zi + ci;
            var bi = zr - cr;
            s.PowerA[k] = (ar * ar + ai * ai) * quarter;
            s.PowerB[k] = (br * br + bi * bi) * quarter;
        }

        var floor = new Vector<float>(1e-10f);
        ref var pa = ref MemoryMarshal.GetArrayDataReference(s.PowerA);
        ref var pb = ref MemoryMarshal.GetArrayDataReference(s.PowerB);
        var max = s.Max;
        // Frames past the window (the dropped last one and the zero padding of the last batch) do not count towards the maximum.
        var validA = Vector<int>.AllBitsSet;
        var validB = Vector<int>.AllBitsSet;
        if (imagFirst + lanes > frames)
        {
            Span<int> a = stackalloc int[lanes];
            Span<int> b = stackalloc int[lanes];
            for (int l = 0; l < lanes; l++)
            {
                a[l] = realFirst + l < frames ? -1 : 0;
                b[l] = imagFirst + l < frames ? -1 : 0;
            }
            validA = new Vector<int>(a);
            validB = new Vector<int>(b);
        }
        var minusInf = new Vector<float>(float.NegativeInfinity);
        for (int m = 0; m < MelBins; m++)
        {
            var weights = _melWeights[m];
            int first = _melFirst[m];
            var accA = Vector<float>.Zero;
            var accB = Vector<float>.Zero;
            for (int i = 0; i < weights.Length; i++)
            {
                var wv = new Vector<float>(weights[i]);
                accA += wv * Unsafe.Add(ref pa, first + i);
                accB += wv * Unsafe.Add(ref pb, first + i);
            }
            var logA = VectorMath.Log10(Vector.Max(accA, floor));
            var logB = VectorMath.Log10(Vector.Max(accB, floor));
            max = Vector.Max(max, Vector.Max(Vector.ConditionalSelect(validA, logA, minusInf), Vector.ConditionalSelect(validB, logB, minusInf)));
            var row = mel.AsSpan(m * framesPadded);
            logA.CopyTo(row[realFirst..]);
            logB.CopyTo(row[imagFirst..]);
        }
        s.Max = max;
    }
}
