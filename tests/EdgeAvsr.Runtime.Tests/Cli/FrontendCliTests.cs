using System.Text.Json;
using EdgeAvsr.Cli;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Tests.Audio;

namespace EdgeAvsr.Runtime.Tests.Cli;

/// <summary><c>edgeavsr features</c> and <c>edgeavsr frames</c> end to end, good and bad input.</summary>
[Collection("console")]
public class FrontendCliTests
{
    internal static (int Code, string Out, string Err) Invoke(params string[] args) => CliHarness.Edgeavsr(args);

    [Fact]
    public void Features_WritesMelAndDurationSidecar()
    {
        using var dir = new TempDir();
        string wav = dir.File("tone.wav");
        Tools.Run("sox", "-n", "-r", "44100", "-c", "2", "-b", "16", wav, "synth", "1.25", "sine", "440", "vol", "0.5");
        var (code, stdout, stderr) = Invoke("features", "--audio", wav, "--out", dir.File("mel.npy"));
        Assert.True(code == 0, stderr);
        Assert.Contains("duration_seconds: 1.25", stdout, StringComparison.Ordinal);
        var mel = NpyFile.ReadFloat32(dir.File("mel.npy"));
        Assert.Equal(new long[] { 80, 3000 }, mel.Shape);
        using var json = JsonDocument.Parse(File.ReadAllText(dir.File("mel.json")));
        var props = json.RootElement.EnumerateObject().ToList();
        Assert.Single(props);
        Assert.Equal("duration_seconds", props[0].Name);
        Assert.Equal(1.25, props[0].Value.GetDouble(), 9);

        Assert.Equal(0, Invoke("features", "--audio", wav, "--out", dir.File("norm.npy"), "--normalize").Code);
        var (jsonCode, _, jsonErr) = Invoke("features", "--audio", wav, "--out", dir.File("x.json"));
        Assert.Equal(ExitCodes.InvalidInput, jsonCode);
        Assert.Contains("the features go to a .npy file", jsonErr, StringComparison.Ordinal);
        Assert.NotEqual(mel.Data, NpyFile.ReadFloat32(dir.File("norm.npy")).Data);
    }

    [Fact]
    public void Features_Threads_NegativeIsExit2_HugeStillComputes()
    {
        using var dir = new TempDir();
        string wav = dir.File("tone.wav");
        Tools.Run("sox", "-n", "-r", "16000", "-c", "1", "-b", "16", wav, "synth", "1", "sine", "440", "vol", "0.5");
        var (code, _, stderr) = Invoke("features", "--audio", wav, "--out", dir.File("neg.npy"), "--threads", "-1");
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains("--threads must be 0", stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("neg.npy")));

        // 600000000 * 4 wrapped to a negative chunk count before: no batch ran and every value came out 1.0.
        Assert.Equal(0, Invoke("features", "--audio", wav, "--out", dir.File("one.npy"), "--threads", "1").Code);
        Assert.Equal(0, Invoke("features", "--audio", wav, "--out", dir.File("huge.npy"), "--threads", "600000000").Code);
        Assert.Equal(NpyFile.ReadFloat32(dir.File("one.npy")).Data, NpyFile.ReadFloat32(dir.File("huge.npy")).Data);
    }

    [Theory]
    [InlineData("missing", "audio file not found")]
    [InlineData("garbage", "cannot decode it")]
    [InlineData("empty-wav", "the audio is empty")]
    [InlineData("truncated-data", "truncated")]
    [InlineData("video-only", "no audio stream")]
    public void Features_BadInput_OneLineError_Exit2_NoOutput(string kind, string expected)
    {
        using var dir = new TempDir();
        string path = AudioInputTests.MakeBad(dir, kind);
        var (code, _, stderr) = Invoke("features", "--audio", path, "--out", dir.File("mel.npy"));
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
        Assert.Single(stderr.TrimEnd().Split('\n'));
        Assert.False(File.Exists(dir.File("mel.npy")));
        Assert.False(File.Exists(dir.File("mel.json")));
    }
}
