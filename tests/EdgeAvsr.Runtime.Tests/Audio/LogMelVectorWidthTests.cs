using System.Diagnostics;
using System.Numerics;
using EdgeAvsr.Runtime.Audio;
using EdgeAvsr.Runtime.Formats;
using Xunit.Abstractions;

namespace EdgeAvsr.Runtime.Tests.Audio;

/// <summary>
/// The log-mel computes one frame per SIMD lane, and <c>Vector&lt;float&gt;.Count</c> is 4 on arm64 (128-bit NEON, the
/// Jetson) and on x64 without AVX, 8 or 16 here. The built CLI runs <c>features</c> with AVX hidden from the JIT
/// (<c>DOTNET_EnableAVX=0</c>: 4 lanes) and must give this process's features bit for bit: each frame is paired with the
/// same partner frame at every width (a 4-lane run once indexed past its buffer, and with the partner chosen by the lane
/// count the widths differed). The input is at 16 kHz: the resampler, which other rates go through, sums its taps in
/// an order that depends on the vector width, and is not covered here.
/// </summary>
public class LogMelVectorWidthTests(ITestOutputHelper output)
{
    [Fact]
    public void FourLanes_AsOnArm64_GiveTheSameFeaturesAsThisProcess()
    {
        using var dir = new TempDir();
        string wav = dir.File("speech.wav");
        Tools.Run("espeak-ng", "-s", "160", "-w", dir.File("espeak.wav"), "four lanes on the jetson, eight or sixteen here");
        Tools.Run("sox", dir.File("espeak.wav"), "-r", "16000", wav);
        string config = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
        string cli = Path.Combine(Tools.RepoRoot, "Runtime", "EdgeAvsr.Cli", "bin", config, "net10.0", "edgeavsr.dll");

        // Without AVX the JIT's Vector<T> is 16 bytes; doctor's CPU line shows what the child process saw.
        var (_, doctor, _) = RunWithoutAvx(cli, "doctor");
        string cpu = doctor.Split('\n').Single(l => l.StartsWith("cpu: ", StringComparison.Ordinal));
        output.WriteLine($"this process: {Vector<float>.Count} lanes; child with DOTNET_EnableAVX=0: {cpu}");
        Assert.DoesNotContain("AVX", cpu, StringComparison.Ordinal);

        var (code, _, err) = RunWithoutAvx(cli, "features", "--audio", wav, "--out", dir.File("mel.npy"));
        Assert.True(code == 0, $"features with 4 lanes failed ({code}): {err}");
        var fourLanes = NpyFile.ReadFloat32(dir.File("mel.npy"));
        Assert.Equal(new long[] { 80, 3000 }, fourLanes.Shape);
        var here = LogMelFeatures.Compute(AudioLoader.Load(wav), normalize: false);
        double diff = AudioInputTests.MaxAbsDiff(here, fourLanes.Data);
        output.WriteLine($"max abs difference: {diff:E2}");
        Assert.True(here.AsSpan().SequenceEqual(fourLanes.Data), $"4-lane features differ from {Vector<float>.Count}-lane ones (max abs {diff})");
        Assert.True(here.Max() - here.Min() > 1.5, "the features look empty");
    }

    private static (int Code, string Out, string Err) RunWithoutAvx(string cli, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(cli);
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["DOTNET_EnableAVX"] = "0";
        using var p = Tools.Start(psi);
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout, stderr.Result);
    }
}
