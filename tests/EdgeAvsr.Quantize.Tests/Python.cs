using System.Diagnostics;

namespace EdgeAvsr.Quantize.Tests;

/// <summary>Runs Debian's /usr/bin/python3 (torch) for the checkpoint script and independent references.</summary>
internal static class Python
{
    public const string Interpreter = "/usr/bin/python3";

    public static string RepoRoot { get; } = FindRepoRoot();

    public static (int Code, string Out, string Err) Exec(params string[] args)
    {
        var psi = new ProcessStartInfo(Interpreter) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout, stderr.Result);
    }

    public static string Run(string code)
    {
        var (rc, stdout, stderr) = Exec("-c", code);
        return rc == 0 ? stdout : throw new InvalidOperationException($"python failed ({rc}): {stderr}");
    }

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
