using EdgeAvsr.Runtime.Encoders;

namespace EdgeAvsr.Runtime.Tests.Encoders;

/// <summary>
/// An audio encoder trained on a shorter window than Whisper's 3000 frames: the demo model's (Models/demo,
/// input_features [1, 80, 300] -> [1, 150, 128]).
/// </summary>
public class EncoderWindowTests
{
    private static string DemoAudio => Path.Combine(Tools.RepoRoot, "Models", "demo", "audio_encoder.onnx");

    [Fact]
    public void Window_IsTheModelsFixedWidth_AndStatesAreTrimmedWithinIt()
    {
        using var encoder = EncoderSession.Open(DemoAudio);
        Assert.Equal(EncoderKind.Audio, encoder.Kind);
        Assert.Equal(300, encoder.AudioWindowFrames);
        var rng = new Random(5);
        var mel = Enumerable.Range(0, 80 * 300).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();

        var all = encoder.EncodeAudio(mel, seconds: null);
        Assert.Equal(150, all.Rows);
        var two = encoder.EncodeAudio(mel, seconds: 2.0);
        Assert.Equal(100, two.Rows);
        Assert.Equal(all.Data.AsSpan(0, 100 * all.Columns).ToArray(), two.Data);
        // Longer than the window: every state the encoder has, never more.
        Assert.Equal(150, encoder.EncodeAudio(mel, seconds: 7.5).Rows);
        Assert.Equal(25, encoder.EncodeAudio(mel, seconds: 0.1).Rows);
    }

    [Fact]
    public void WhisperSizedLogMel_IntoAShortWindow_IsOneLineNamingTheModel()
    {
        using var encoder = EncoderSession.Open(DemoAudio);
        var e = Assert.Throws<EdgeAvsrException>(() => encoder.EncodeAudio(new float[80 * 3000], 1.0));
        Assert.Equal($"{DemoAudio}: log-mel has 240000 values, expected 80 x 300 = 24000", e.Message);
    }

    [Fact]
    public void PackWindowDisagreeingWithTheModel_IsRefusedAtOpen()
    {
        Assert.Equal(300, EncoderSession.Open(DemoAudio, melFrames: 300).AudioWindowFrames);
        var e = Assert.Throws<EdgeAvsrException>(() => EncoderSession.Open(DemoAudio, melFrames: 3000));
        Assert.Equal($"{DemoAudio}: input 'input_features' takes 300 log-mel frames, the pack's front_end.mel_frames is 3000", e.Message);
        var zero = Assert.Throws<EdgeAvsrException>(() => EncoderSession.Open(DemoAudio, melFrames: 0));
        Assert.Contains("0 frames", zero.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(3.217, 150, 150)]
    [InlineData(1.0, 150, 50)]
    [InlineData(0.2, 150, 25)]
    [InlineData(0.2, 10, 10)]
    public void KeptAudioStates_IsCappedByTheWindow(double seconds, int windowStates, int expected) =>
        Assert.Equal(expected, EncoderSession.KeptAudioStates(seconds, windowStates));
}
