using System.Diagnostics;

namespace EdgeAvsr.Runtime.Tests;

/// <summary>Runs Debian's /usr/bin/python3 (torch, numpy) as an independent reference.</summary>
internal static class Python
{
    public const string Interpreter = "/usr/bin/python3";

    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Run(string code) => Exec(["-c", code]);

    public static string Script(string relativePath, params string[] args) => Exec([Path.Combine(RepoRoot, relativePath), .. args]);

    private static string Exec(string[] args)
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
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"python failed ({p.ExitCode}): {stderr.Result}");
        }
        return stdout;
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
