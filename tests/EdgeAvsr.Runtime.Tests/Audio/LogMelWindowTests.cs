using System.Globalization;
using EdgeAvsr.Runtime.Audio;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Runtime.Tests.Audio;

/// <summary>
/// The log-mel over a window shorter than Whisper's 30 s (a pack's <c>front_end.mel_frames</c>) against the torch
/// reference's <c>log_mel_window</c>, which the demo model was trained on.
/// </summary>
public class LogMelWindowTests : IClassFixture<SpeechFixture>
{
    private readonly SpeechFixture _speech;

    public LogMelWindowTests(SpeechFixture speech) => _speech = speech;

    [Theory]
    [InlineData(300, 1.2)] // shorter than the window: zero padded
    [InlineData(300, 5.0)] // longer than the window: trimmed
    [InlineData(400, 4.0)] // exactly the window
    [InlineData(37, 1.0)] // a frame count that fills no whole lane group
    public void ShortWindow_MatchesTorchReference(int frames, double seconds)
    {
        using var dir = new TempDir();
        var samples = AudioLoader.Load(_speech.Cut(seconds, 16000)).Samples;
        NpyFile.Write(dir.File("in.npy"), samples, samples.Length);
        string referenceDir = Path.Combine(Tools.RepoRoot, "Models", "reference");
        Python.Run(string.Create(CultureInfo.InvariantCulture,
            $"import sys, numpy as np, torch; sys.path.insert(0, '{referenceDir}'); import logmel_reference as r; " +
            $"np.save('{dir.File("ref.npy")}', r.log_mel_window(np.load('{dir.File("in.npy")}'), {frames}, torch.float64)[0].numpy())"));
        var reference = NpyFile.ReadFloat32(dir.File("ref.npy"));
        Assert.Equal(new long[] { 80, frames }, reference.Shape);

        var ours = new WhisperLogMel(2, frames);
        Assert.Equal(frames * 160, ours.WindowSamples);
        var mel = ours.Compute(samples);
        Assert.Equal(80 * frames, mel.Length);
        double diff = AudioInputTests.MaxAbsDiff(reference.Data, mel);
        Assert.True(diff <= 1e-3, $"{frames} frames, {seconds} s: max abs difference {diff}");
        Assert.True(reference.Data.Max() - reference.Data.Min() > 1.0, "the reference window looks empty");
    }

    [Fact]
    public void WhisperWindow_IsTheDefault()
    {
        var samples = AudioLoader.Load(_speech.Cut(3.0, 16000)).Samples;
        Assert.Equal(new WhisperLogMel(1).Compute(samples), new WhisperLogMel(1, WhisperLogMel.Frames).Compute(samples));
    }

    [Fact]
    public void ShortWindow_ReusedAfterLongInput_EqualsFreshInstance()
    {
        var longer = AudioLoader.Load(_speech.Cut(12.0, 16000)).Samples;
        var shorter = AudioLoader.Load(_speech.Cut(0.5, 16000)).Samples;
        var reused = new WhisperLogMel(2, 300);
        reused.Compute(longer);
        Assert.Equal(new WhisperLogMel(2, 300).Compute(shorter), reused.Compute(shorter));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(3001)]
    public void WindowOutsideWhispers_IsRefused(int frames)
    {
        var e = Assert.Throws<EdgeAvsrException>(() => new WhisperLogMel(1, frames));
        Assert.Contains($"{frames} frames", e.Message, StringComparison.Ordinal);
    }
}
