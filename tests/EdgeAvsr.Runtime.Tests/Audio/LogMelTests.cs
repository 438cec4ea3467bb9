using System.Globalization;
using System.Numerics;
using EdgeAvsr.Runtime.Audio;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Runtime.Tests.Audio;

/// <summary>About 45 s of real synthesized speech (espeak-ng, 22050 Hz), made once per test class.</summary>
public sealed class SpeechFixture : IDisposable
{
    private const string Text =
        "Audio visual speech recognition combines what we hear with what we see on the speaker's lips. " +
        "The quick brown fox jumps over the lazy dog, while seven silver swans swim slowly south. " +
        "On small devices the encoders must run quickly, and the language model must fit in memory. " +
        "Whisper turns thirty seconds of sound into eighty mel bands, one hundred frames every second. " +
        "Numbers such as three hundred and forty two, or nineteen eighty four, are spoken in full. " +
        "The mouth region is cropped from each video frame, resized, normalised and stacked in time. " +
        "A sparse mixture of projectors chooses two experts for every token it sends to the decoder.";

    public SpeechFixture()
    {
        Dir = new TempDir();
        Speech = Dir.File("speech.wav");
        Tools.Run("espeak-ng", "-s", "150", "-w", Speech, Text);
    }

    public TempDir Dir { get; }

    /// <summary>espeak-ng's output, 22050 Hz 16-bit mono.</summary>
    public string Speech { get; }

    /// <summary>The speech cut to <paramref name="seconds"/> and converted by sox to <paramref name="rate"/> Hz, 16-bit mono.</summary>
    public string Cut(double seconds, int rate)
    {
        string name = Dir.File(string.Create(CultureInfo.InvariantCulture, $"speech-{seconds}-{rate}.wav"));
        if (!File.Exists(name))
        {
            Tools.Run("sox", Speech, "-r", rate.ToString(CultureInfo.InvariantCulture), "-b", "16", name, "trim", "0",
                seconds.ToString(CultureInfo.InvariantCulture));
        }
        return name;
    }

    public void Dispose() => Dir.Dispose();
}

/// <summary>Whisper log-mel against the independent torch reference (Models/reference/logmel_reference.py).</summary>
public class LogMelTests : IClassFixture<SpeechFixture>
{
    private readonly SpeechFixture _speech;

    public LogMelTests(SpeechFixture speech) => _speech = speech;

    [Fact]
    public void Speech_AtEveryRate_MatchesTorchReference_Within1e3()
    {
        Assert.True(new FileInfo(_speech.Speech).Length > 2 * 22050 * 41, "espeak-ng speech is shorter than 41 s");
        var cases = new List<(string Name, string RefInput, float[] Ours, double Duration, double ExpectedDuration)>();
        using var dir = new TempDir();
        // 16 kHz: the reference reads the WAV itself (Python's wave module); other rates: the reference gets our
        // 16 kHz signal (the resampler is tested on its own in ResamplerTests).
        foreach (var (seconds, rate) in new[] { (0.2, 16000), (3.0, 16000), (12.0, 16000), (40.0, 16000), (0.2, 22050), (12.0, 22050), (40.0, 44100),
            (3.0, 44100), (12.0, 8000) })
        {
            string wav = _speech.Cut(seconds, rate);
            var signal = AudioLoader.Load(wav);
            string name = string.Create(CultureInfo.InvariantCulture, $"{seconds}s@{rate}");
            string refInput = wav;
            if (rate != 16000)
            {
                refInput = dir.File($"in-{cases.Count}.npy");
                var prepared = LogMelFeatures.Prepare(signal, normalize: false);
                NpyFile.Write(refInput, prepared, prepared.Length);
            }
            cases.Add((name, refInput, LogMelFeatures.Compute(signal, normalize: false), signal.DurationSeconds, seconds));
        }
        var args = new List<string> { "features" };
        for (int i = 0; i < cases.Count; i++)
        {
            args.Add(cases[i].RefInput);
            args.Add(dir.File($"ref-{i}.npy"));
        }
        Python.Script("Models/reference/logmel_reference.py", [.. args]);
        for (int i = 0; i < cases.Count; i++)
        {
            var reference = NpyFile.ReadFloat32(dir.File($"ref-{i}.npy"));
            Assert.Equal(new long[] { 80, 3000 }, reference.Shape);
            double diff = AudioInputTests.MaxAbsDiff(reference.Data, cases[i].Ours);
            Assert.True(diff <= 1e-3, $"{cases[i].Name}: max abs difference {diff}");
            // The features carry speech, not silence: the dynamic range spans the full 8 decades clamp ((8) / 4 = 2).
            Assert.True(reference.Data.Max() - reference.Data.Min() > 1.5, $"{cases[i].Name}: reference looks empty");
            Assert.Equal(cases[i].ExpectedDuration, cases[i].Duration, 2);
        }
    }

    [Fact]
    public void Normalized_Features_MatchReferenceOnNormalizedSignal()
    {
        using var dir = new TempDir();
        var signal = AudioLoader.Load(_speech.Cut(2.5, 22050));
        var prepared = LogMelFeatures.Prepare(signal, normalize: true);
        double mean = prepared.Average(v => (double)v);
        Assert.InRange(mean, -1e-4, 1e-4);
        NpyFile.Write(dir.File("in.npy"), prepared, prepared.Length);
        Python.Script("Models/reference/logmel_reference.py", "features", dir.File("in.npy"), dir.File("ref.npy"));
        var ours = LogMelFeatures.Compute(signal, normalize: true, threads: 1);
        double diff = AudioInputTests.MaxAbsDiff(NpyFile.ReadFloat32(dir.File("ref.npy")).Data, ours);
        Assert.True(diff <= 1e-3, $"max abs difference {diff}");
        Assert.NotEqual(LogMelFeatures.Compute(signal, normalize: false)[5000], ours[5000]);
    }

    [Fact]
    public void ReusedInstance_LongThenShort_EqualsFreshInstance()
    {
        var longer = AudioLoader.Load(_speech.Cut(40.0, 16000)).Samples;
        var shorter = AudioLoader.Load(_speech.Cut(0.2, 16000)).Samples;
        var reused = new WhisperLogMel(2);
        reused.Compute(longer);
        Assert.Equal(new WhisperLogMel(2).Compute(shorter), reused.Compute(shorter));
    }

    [Fact]
    public void ThreadCount_DoesNotChangeTheResult()
    {
        var samples = AudioLoader.Load(_speech.Cut(3.0, 16000)).Samples;
        Assert.Equal(new WhisperLogMel(1).Compute(samples), new WhisperLogMel(3).Compute(samples));
    }

    [Theory]
    [InlineData(400)]
    [InlineData(64)]
    [InlineData(100)]
    [InlineData(30)]
    [InlineData(7)]
    [InlineData(98)]
    [InlineData(1)]
    public void LaneFft_EqualsDirectDftInFp64(int n)
    {
        int lanes = Vector<float>.Count;
        var rng = new Random(n);
        var re = new double[lanes, n];
        var im = new double[lanes, n];
        var vr = new Vector<float>[n];
        var vi = new Vector<float>[n];
        var lr = new float[lanes];
        var li = new float[lanes];
        for (int j = 0; j < n; j++)
        {
            for (int l = 0; l < lanes; l++)
            {
                lr[l] = (float)(rng.NextDouble() - 0.5);
                li[l] = (float)(rng.NextDouble() - 0.5);
                re[l, j] = lr[l];
                im[l, j] = li[l];
            }
            vr[j] = new Vector<float>(lr);
            vi[j] = new Vector<float>(li);
        }
        new LaneFft(n).Forward(vr, vi, new Vector<float>[n], new Vector<float>[n]);
        double worst = 0;
        for (int l = 0; l < lanes; l++)
        {
            for (int k = 0; k < n; k++)
            {
                double sr = 0, si = 0;
                for (int j = 0; j < n; j++)
                {
                    double a = -2 * Math.PI * ((long)j * k % n) / n;
                    sr += re[l, j] * Math.Cos(a) - im[l, j] * Math.Sin(a);
                    si += re[l, j] * Math.Sin(a) + im[l, j] * Math.Cos(a);
                }
                worst = Math.Max(worst, Math.Max(Math.Abs(sr - vr[k][l]), Math.Abs(si - vi[k][l])));
            }
        }
        Assert.True(worst < 1e-5 * Math.Sqrt(n), $"n={n}: max error {worst}");
    }

    [Fact]
    public void VectorLog10_EqualsMathLog10()
    {
        var rng = new Random(3);
        int lanes = Vector<float>.Count;
        var x = new float[lanes];
        double worst = 0;
        for (int i = 0; i < 20000; i++)
        {
            for (int l = 0; l < lanes; l++)
            {
                x[l] = (float)Math.Pow(10, -10 + 16 * rng.NextDouble());
            }
            var y = VectorMath.Log10(new Vector<float>(x));
            for (int l = 0; l < lanes; l++)
            {
                worst = Math.Max(worst, Math.Abs(y[l] - Math.Log10(x[l])));
            }
        }
        Assert.True(worst < 2e-6, $"max error {worst}");
    }

    [Fact]
    public void MelFilters_MatchSlaneyDefinition_Reference()
    {
        using var dir = new TempDir();
        Python.Run($"import sys, numpy as np; sys.path.insert(0, '{Path.Combine(Python.RepoRoot, "Models/reference")}'); import logmel_reference as " +
            $"r; np.save('{dir.File("f.npy")}', r.mel_filters().astype(np.float32))");
        var reference = NpyFile.ReadFloat32(dir.File("f.npy"));
        Assert.Equal(new long[] { 80, 201 }, reference.Shape);
        var bank = new MelFilterBank(16000, 400, 80, 0, 8000);
        double worst = 0;
        for (int m = 0; m < 80; m++)
        {
            for (int k = 0; k < 201; k++)
            {
                worst = Math.Max(worst, Math.Abs(bank.Dense[m, k] - reference.Data[m * 201 + k]));
            }
            Assert.NotEmpty(bank.Weights[m]);
        }
        Assert.True(worst < 1e-8, $"max difference {worst}");
        // Slaney: 1000 Hz is 15 mels, linear below it.
        Assert.Equal(15.0, MelFilterBank.HzToMel(1000), 12);
        Assert.Equal(3000.0, MelFilterBank.MelToHz(MelFilterBank.HzToMel(3000)), 9);
    }
}
