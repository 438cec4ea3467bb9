namespace EdgeAvsr.Quantize.Tests;

/// <summary>Runs Debian's /usr/bin/python3 (torch) for the checkpoint script and independent references.</summary>
internal static class Python
{
    public const string Interpreter = "/usr/bin/python3";

    public static string RepoRoot => Tools.RepoRoot;

    public static (int Code, string Out, string Err) Exec(params string[] args) => Tools.Exec(Interpreter, args);

    public static string Run(string code) => Tools.Run(Interpreter, "-c", code);
}
