using System.Diagnostics;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Tests.Pack;
using EdgeAvsr.Runtime.Tests.Pipeline;

namespace EdgeAvsr.Runtime.Tests.Onnx;

/// <summary>
/// Every process that loads ONNX Runtime writes nothing but what it was asked for. The built CLI runs in child processes
/// outside CI (ORT stays quiet when it sees a CI variable) with a fresh TMPDIR, HOME and working directory, and the three
/// folders are listed in full before and after. Without the opt-out, ORT 1.32 leaves TMPDIR/.ses and
/// HOME/.cache/Microsoft/DeveloperTools/.onnxruntime/{deviceid,onnxruntime.db} behind.
/// </summary>
public class OrtTelemetryTests(PipelineFixture f) : IClassFixture<PipelineFixture>
{
    /// <summary>The CI variables ORT 1.32's native library checks (its strings), plus the opt-outs and ORT's own test switch.</summary>
    private static readonly string[] RemovedVariables =
    [
        "CI", "TF_BUILD", "GITHUB_ACTIONS", "GITLAB_CI", "CIRCLECI", "TRAVIS", "JENKINS_URL", "CODEBUILD_BUILD_ID", "BUILDKITE",
        "TEAMCITY_VERSION", "APPVEYOR", "BITBUCKET_BUILD_NUMBER", "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI", "ORT_DISABLE_TELEMETRY",
        "ORT_TELEMETRY_DISABLED", "ORT_RUNNING_UNIT_TESTS", "XDG_CACHE_HOME", "SQLITE_TMPDIR",
    ];

    private static (int Code, string Err) Edgeavsr(string work, string tmp, string home, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = work };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "edgeavsr.dll"));
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        foreach (string name in RemovedVariables)
        {
            psi.Environment.Remove(name);
        }
        psi.Environment["TMPDIR"] = tmp;
        psi.Environment["HOME"] = home;
        using var p = Tools.Start(psi);
        var stdout = p.StandardOutput.ReadToEndAsync();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        _ = stdout.Result;
        return (p.ExitCode, stderr);
    }

    /// <summary>Every file and folder under <paramref name="root"/>, hidden ones too, as paths relative to it.</summary>
    private static SortedSet<string> Listing(string root) =>
        new(Directory.EnumerateFileSystemEntries(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Select(p => Path.GetRelativePath(root, p)), StringComparer.Ordinal);

    [Fact]
    public void EncodeVadAndTranscribe_WriteOnlyTheirOutputs_OutsideCi()
    {
        using var dir = new TempDir();
        string tmp = dir.File("tmp"), home = dir.File("home"), work = dir.File("work"), inputs = dir.File("inputs");
        foreach (string d in new[] { tmp, home, work, inputs })
        {
            Directory.CreateDirectory(d);
        }
        string roi = Path.Combine(inputs, "roi.npy");
        NpyFile.Write(roi, new float[3 * 88 * 88], 3, 88, 88);
        var before = new[] { tmp, home, work }.Select(Listing).ToArray();
        Assert.All(before, Assert.Empty);

        var runs = new[]
        {
            Edgeavsr(work, tmp, home, "encode", "--model", PackParts.EncoderFile("video.onnx"), "--input", roi, "--out", "states.npy"),
            Edgeavsr(work, tmp, home, "vad", "--audio", f.Wav),
            Edgeavsr(work, tmp, home, "transcribe", "--model", f.Pack, "--input", f.Clip, "--threads", "1", "--beams", "1", "--max-new-tokens", "2",
                "--out", "clip.txt"),
        };
        Assert.All(runs, r => Assert.True(r.Code == 0, r.Err));

        // One listing of all three, so a failure shows every stray file at once.
        var after = new[] { ("tmp", tmp), ("home", home), ("work", work) }.SelectMany(d => Listing(d.Item2).Select(p => $"{d.Item1}/{p}"));
        Assert.Equal(["work/clip.txt", "work/states.npy"], after.Order(StringComparer.Ordinal));
    }
}
