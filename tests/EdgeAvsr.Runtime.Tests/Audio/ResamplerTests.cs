using System.Globalization;
using EdgeAvsr.Runtime.Audio;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Runtime.Tests.Audio;

/// <summary>The resampler on its own: tone sweeps (flat passband, nothing aliased or imaged above the new
/// Nyquist) and equality with torchaudio's Kaiser-windowed sinc resampler at the same design.</summary>
public class ResamplerTests
{
    private static float[] Tone(double freq, int rate, double seconds, double amplitude = 0.5)
    {
        var x = new float[(int)(rate * seconds)];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)(amplitude * Math.Sin(2 * Math.PI * freq * i / rate + 0.3));
        }
        return x;
    }

    // Least-squares fit of a cos + b sin at freq over the middle half; returns (amplitude, rms of the residual).
    private static (double Amplitude, double Residual) Fit(float[] y, double freq, int rate)
    {
        int start = y.Length / 4, end = 3 * y.Length / 4;
        double cc = 0, ss = 0, cs = 0, yc = 0, ys = 0;
        for (int n = start; n < end; n++)
        {
            double c = Math.Cos(2 * Math.PI * freq * n / rate), s = Math.Sin(2 * Math.PI * freq * n / rate);
            cc += c * c;
            ss += s * s;
            cs += c * s;
            yc += y[n] * c;
            ys += y[n] * s;
        }
        double det = cc * ss - cs * cs;
        double a = (yc * ss - ys * cs) / det, b = (ys * cc - yc * cs) / det;
        double r = 0;
        for (int n = start; n < end; n++)
        {
            double e = y[n] - a * Math.Cos(2 * Math.PI * freq * n / rate) - b * Math.Sin(2 * Math.PI * freq * n / rate);
            r += e * e;
        }
        return (Math.Sqrt(a * a + b * b), Math.Sqrt(r / (end - start)));
    }

    private static double Db(double ratio) => 20 * Math.Log10(Math.Max(ratio, 1e-300));

    [Theory]
    [InlineData(44100)]
    [InlineData(22050)]
    [InlineData(48000)]
    [InlineData(8000)]
    [InlineData(11025)]
    [InlineData(32000)]
    [InlineData(44101)]
    public void ToneSweep_PassbandFlat_NoImagesOrAliasesAboveNewNyquist(int inputRate)
    {
        const int outRate = 16000;
        var r = new Resampler(inputRate, outRate);
        double lowNyquist = Math.Min(inputRate, outRate) / 2.0;
        double worstRipple = 0, worstSpur = double.NegativeInfinity;
        // Passband: up to 0.86 x the lower Nyquist (6.88 kHz at 16 kHz), gain 0 dB and nothing else in the output
        // (an upsampler's image at f_in - f would show up in the residual).
        for (double f = 60; f <= 0.86 * lowNyquist; f += 0.86 * lowNyquist / 23)
        {
            var y = r.Process(Tone(f, inputRate, 0.5));
            Assert.Equal(((long)(int)(0.5 * inputRate) * outRate + inputRate - 1) / inputRate, y.Length);
            var (amp, residual) = Fit(y, f, outRate);
            worstRipple = Math.Max(worstRipple, Math.Abs(Db(amp / 0.5)));
            worstSpur = Math.Max(worstSpur, Db(residual * Math.Sqrt(2) / 0.5));
        }
        Assert.True(worstRipple < 0.01, $"passband ripple {worstRipple:F4} dB");
        Assert.True(worstSpur < -80, $"largest spurious output (images/aliases) {worstSpur:F1} dB");
        // Stopband of a downsampler: tones above the new Nyquist must not fold back into the output.
        if (inputRate > outRate)
        {
            double worstAlias = double.NegativeInfinity;
            for (double f = outRate / 2.0 + 40; f < inputRate / 2.0 - 50; f += (inputRate / 2.0 - outRate / 2.0) / 19)
            {
                var y = r.Process(Tone(f, inputRate, 0.5));
                double rms = Math.Sqrt(y.Skip(y.Length / 4).Take(y.Length / 2).Average(v => (double)v * v));
                worstAlias = Math.Max(worstAlias, Db(rms * Math.Sqrt(2) / 0.5));
            }
            Assert.True(worstAlias < -80, $"aliased tone at {worstAlias:F1} dB");
        }
    }

    [Fact]
    public void EqualsTorchaudioKaiserResampler()
    {
        using var dir = new TempDir();
        var design = ResamplerDesign.Default;
        var cases = new[] { (44100, 16000), (22050, 16000), (8000, 16000), (48000, 16000), (16000, 22050), (11025, 16000) };
        var ours = new List<float[]>();
        var args = new List<string>();
        for (int c = 0; c < cases.Length; c++)
        {
            var (inputRate, outputRate) = cases[c];
            var rng = new Random(inputRate + c);
            var x = new float[inputRate / 3 + 17];
            for (int i = 0; i < x.Length; i++)
            {
                x[i] = (float)(rng.NextDouble() - 0.5);
            }
            ours.Add(new Resampler(inputRate, outputRate, design).Process(x));
            NpyFile.Write(dir.File($"x{c}.npy"), x, x.Length);
            args.AddRange([dir.File($"x{c}.npy"), dir.File($"y{c}.npy"), inputRate.ToString(CultureInfo.InvariantCulture),
                outputRate.ToString(CultureInfo.InvariantCulture),
                design.ZeroCrossings.ToString(CultureInfo.InvariantCulture), design.Rolloff.ToString(CultureInfo.InvariantCulture),
                    design.Beta.ToString(CultureInfo.InvariantCulture)]);
        }
        Python.Script("Models/reference/resample_reference.py", [.. args]);
        for (int c = 0; c < cases.Length; c++)
        {
            var reference = NpyFile.ReadFloat32(dir.File($"y{c}.npy")).Data;
            Assert.Equal(reference.Length, ours[c].Length);
            double diff = AudioInputTests.MaxAbsDiff(reference, ours[c]);
            Assert.True(diff < 2e-5, $"{cases[c].Item1} -> {cases[c].Item2} Hz: max abs difference {diff}");
        }
    }

    [Fact]
    public void SameRate_IsIdentity_AndEmptyStaysEmpty()
    {
        var signal = new AudioSignal([0.1f, -0.2f, 0.3f], 16000);
        Assert.Same(signal, Resampler.To(signal, 16000));
        Assert.Empty(new Resampler(44100, 16000).Process([]));
    }

    [Theory]
    [InlineData(44100, 16000, 1)]
    [InlineData(48000, 16000, 2)]
    [InlineData(22050, 16000, 3)]
    [InlineData(8000, 16000, 4)]
    [InlineData(11025, 16000, 5)]
    public void Stream_InAnyPieces_EqualsTheWholeSignal_BitForBit(int inputRate, int outputRate, int seed)
    {
        var rng = new Random(seed);
        var x = new float[inputRate * 3 / 2 + rng.Next(100)];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)(rng.NextDouble() * 2 - 1);
        }
        var resampler = new Resampler(inputRate, outputRate);
        float[] whole = resampler.Process(x);
        foreach (int maxPiece in new[] { 1, 7, 333, 5000, x.Length })
        {
            var stream = resampler.OpenStream();
            var pieces = new List<float>();
            for (int at = 0; at < x.Length;)
            {
                int n = Math.Min(x.Length - at, rng.Next(0, maxPiece + 1));
                pieces.AddRange(stream.Push(x.AsSpan(at, n)));
                at += n;
            }
            pieces.AddRange(stream.Finish());
            Assert.Equal(whole.Length, pieces.Count);
            for (int i = 0; i < whole.Length; i++)
            {
                Assert.True(BitConverter.SingleToInt32Bits(whole[i]) == BitConverter.SingleToInt32Bits(pieces[i]), $"pieces up to {maxPiece}: output " +
                    $"{i} is {pieces[i]}, whole gives {whole[i]}");
            }
        }
    }
}
