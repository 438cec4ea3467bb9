using System.Numerics;
using System.Runtime.InteropServices;

namespace EdgeAvsr.Runtime.Audio;

/// <summary>
/// Whisper's log-mel spectrogram, exactly: the 16 kHz signal padded with zeros or trimmed to 30 s
/// (480000 samples); reflect-padded by n_fft / 2 = 200 on both sides (centred frames); n_fft 400,
/// hop 160, periodic Hann window; 3001 frames of which the last is dropped (3000); power spectrum
/// |X|^2 of the 201 one-sided bins; 80 Slaney mel filters (0-8 kHz, Slaney area normalisation);
/// log10 with a floor of 1e-10; clamped below at (max - 8) over the whole [80, 3000] window; then (x + 4) / 4.
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
    public const int ChunkSamples = 480000;
    public const int FftSize = 400;
    public const int HopLength = 160;
    public const int Frames = 3000;
    public const int MelBins = 80;
    private const int Bins = FftSize / 2 + 1;

    private readonly LaneFft _fft = new(FftSize);
    private readonly float[] _window = new float[FftSize];
    private readonly int _threads;

    public WhisperLogMel(int threads = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(threads);
        _threads = threads == 0 ? Environment.ProcessorCount : threads;
        for (int j = 0; j < FftSize; j++)
        {
            _window[j] = (float)(0.5 - 0.5 * Math.Cos(2 * Math.PI * j / FftSize));
        }
        Filters = new MelFilterBank(SampleRate, FftSize, MelBins, 0, SampleRate / 2.0);
    }

    public MelFilterBank Filters { get; }

    /// <summary>Log-mel features <c>[80, 3000]</c> (row-major) of 16 kHz samples.</summary>
    public float[] Compute(ReadOnlySpan<float> samples)
    {
        int lanes = Vector<float>.Count;
        int batch = 2 * lanes;
        int batches = (Frames + batch - 1) / batch;
        int framesPadded = batches * batch;
        const int pad = FftSize / 2;
        // Frames past 3000 (only computed to fill the last batch) read zeros.
        var x = new float[(framesPadded - 1) * HopLength + FftSize];
        int n = Math.Min(samples.Length, ChunkSamples);
        samples[..n].CopyTo(x.AsSpan(pad));
        for (int i = 1; i <= pad; i++)
        {
            x[pad - i] = i < n ? samples[i] : 0f;
            int mirror = ChunkSamples - 1 - i;
            x[pad + ChunkSamples - 1 + i] = mirror < n ? samples[mirror] : 0f;
        }

        var mel = new float[MelBins * framesPadded];
        int chunks = Math.Min(batches, _threads * 4);
        var options = new ParallelOptions { MaxDegreeOfParallelism = _threads };
        Parallel.For(0, chunks, options, () => new Scratch(), (c, _, scratch) =>
        {
            int b0 = (int)((long)batches * c / chunks), b1 = (int)((long)batches * (c + 1) / chunks);
            for (int b = b0; b < b1; b++)
            {
                Batch(x, b * batch, mel, framesPadded, scratch);
            }
            return scratch;
        }, _ => { });

        var output = new float[MelBins * Frames];
        var max = new Vector<float>(float.NegativeInfinity);
        var floor = new Vector<float>(1e-10f);
        float scalarMax = float.NegativeInfinity;
        for (int m = 0; m < MelBins; m++)
        {
            var src = mel.AsSpan(m * framesPadded, Frames);
            var dst = output.AsSpan(m * Frames, Frames);
            int t = 0;
            for (; t + lanes <= Frames; t += lanes)
            {
                var v = VectorMath.Log10(Vector.Max(new Vector<float>(src[t..]), floor));
                v.CopyTo(dst[t..]);
                max = Vector.Max(max, v);
            }
            for (; t < Frames; t++)
            {
                dst[t] = MathF.Log10(MathF.Max(src[t], 1e-10f));
                scalarMax = MathF.Max(scalarMax, dst[t]);
            }
        }
        for (int l = 0; l < lanes; l++)
        {
            scalarMax = MathF.Max(scalarMax, max[l]);
        }
        var low = new Vector<float>(scalarMax - 8f);
        var four = new Vector<float>(4f);
        var quarter = new Vector<float>(0.25f);
        var all = output.AsSpan();
        int u = 0;
        for (; u + lanes <= all.Length; u += lanes)
        {
            ((Vector.Max(new Vector<float>(all[u..]), low) + four) * quarter).CopyTo(all[u..]);
        }
        for (; u < all.Length; u++)
        {
            all[u] = (MathF.Max(all[u], scalarMax - 8f) + 4f) * 0.25f;
        }
        return output;
    }

    private sealed class Scratch
    {
        public readonly Vector<float>[] Re = new Vector<float>[FftSize];
        public readonly Vector<float>[] Im = new Vector<float>[FftSize];
        public readonly Vector<float>[] WorkRe = new Vector<float>[FftSize];
        public readonly Vector<float>[] WorkIm = new Vector<float>[FftSize];
        public readonly Vector<float>[] PowerA = new Vector<float>[Bins];
        public readonly Vector<float>[] PowerB = new Vector<float>[Bins];
    }

    // Frames f0 .. f0 + 2L - 1: the first L in the real parts, the next L in the imaginary parts.
    private void Batch(float[] x, int f0, float[] mel, int framesPadded, Scratch s)
    {
        int lanes = Vector<float>.Count;
        var re = MemoryMarshal.Cast<Vector<float>, float>(s.Re.AsSpan());
        var im = MemoryMarshal.Cast<Vector<float>, float>(s.Im.AsSpan());
        var w = _window.AsSpan();
        for (int l = 0; l < lanes; l++)
        {
            var a = x.AsSpan((f0 + l) * HopLength, FftSize);
            var b = x.AsSpan((f0 + lanes + l) * HopLength, FftSize);
            for (int j = 0; j < FftSize; j++)
            {
                re[j * lanes + l] = a[j] * w[j];
                im[j * lanes + l] = b[j] * w[j];
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

        var filters = Filters;
        for (int m = 0; m < MelBins; m++)
        {
            var weights = filters.Weights[m];
            int first = filters.First[m];
            var accA = Vector<float>.Zero;
            var accB = Vector<float>.Zero;
            for (int i = 0; i < weights.Length; i++)
            {
                var wv = new Vector<float>(weights[i]);
                accA += wv * s.PowerA[first + i];
                accB += wv * s.PowerB[first + i];
            }
            var row = mel.AsSpan(m * framesPadded);
            accA.CopyTo(row[f0..]);
            accB.CopyTo(row[(f0 + lanes)..]);
        }
    }
}
