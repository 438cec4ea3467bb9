using System.Diagnostics;

namespace EdgeAvsr.Tests.Shared;

/// <summary>
/// Runs the Debian command-line tools the tests use as independent sources (python3, sox, espeak-ng, ffmpeg),
/// and finds the repository the tests were built from. Shared by both test projects.
/// </summary>
internal static class Tools
{
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>Runs <paramref name="exe"/>; returns its exit code and both output streams.</summary>
    public static (int Code, string Out, string Err) Exec(string exe, params string[] args)
    {
        using var p = Start(new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true }, args);
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout, stderr.Result);
    }

    /// <summary>Runs <paramref name="exe"/> and returns its stdout; a non-zero exit throws with its stderr.</summary>
    public static string Run(string exe, params string[] args)
    {
        var (code, stdout, stderr) = Exec(exe, args);
        return code == 0 ? stdout : throw new InvalidOperationException($"{exe} {string.Join(' ', args)} failed ({code}): {stderr}");
    }

    /// <summary>
    /// Starts <paramref name="psi"/> with <paramref name="args"/> and an empty stdin. A child must never inherit the test host's
    /// descriptor 0: where the host runs with stdin closed (CI does), that number belongs to whatever the host opened first,
    /// and ffmpeg reads its keyboard commands ('q' quits, 'c' sends filter commands) from it unless told -nostdin.
    /// </summary>
    public static Process Start(ProcessStartInfo psi, params IEnumerable<string> args)
    {
        psi.RedirectStandardInput = true;
        psi.UseShellExecute = false;
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        var p = Process.Start(psi)!;
        p.StandardInput.Close();
        return p;
    }

    public static float[] ReadRawFloat(string path) =>
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(path)).ToArray();

    private static string FindRepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "EdgeAvsr.sln")))
            {
                return d.FullName;
            }
        }
        throw new InvalidOperationException("repository root (EdgeAvsr.sln) not found above " + AppContext.BaseDirectory);
    }
}
