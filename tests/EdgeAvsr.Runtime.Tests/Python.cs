namespace EdgeAvsr.Runtime.Tests;

/// <summary>Runs Debian's /usr/bin/python3 (torch, numpy) as an independent reference.</summary>
internal static class Python
{
    public const string Interpreter = "/usr/bin/python3";

    public static string RepoRoot => Tools.RepoRoot;

    public static string Run(string code) => Tools.Run(Interpreter, "-c", code);

    public static string Script(string relativePath, params string[] args) => Tools.Run(Interpreter, [Path.Combine(RepoRoot, relativePath), .. args]);
}
