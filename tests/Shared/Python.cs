namespace EdgeAvsr.Tests.Shared;

/// <summary>Runs Debian's /usr/bin/python3 (torch, numpy) as an independent reference (shared by both test projects).</summary>
internal static class Python
{
    public const string Interpreter = "/usr/bin/python3";

    public static string RepoRoot => Tools.RepoRoot;

    /// <summary>Runs <paramref name="code"/> with <c>python3 -c</c>; returns its stdout, a non-zero exit throws with its stderr.</summary>
    public static string Run(string code) => Tools.Run(Interpreter, "-c", code);

    /// <summary>Runs the repository's script <paramref name="relativePath"/>; returns its stdout, a non-zero exit throws with its stderr.</summary>
    public static string Script(string relativePath, params string[] args) => Tools.Run(Interpreter, [Path.Combine(RepoRoot, relativePath), .. args]);

    /// <summary>Runs python3 with <paramref name="args"/>; returns its exit code and both output streams.</summary>
    public static (int Code, string Out, string Err) Exec(params string[] args) => Tools.Exec(Interpreter, args);
}
