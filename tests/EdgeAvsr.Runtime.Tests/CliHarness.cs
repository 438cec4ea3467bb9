namespace EdgeAvsr.Runtime.Tests;

/// <summary>
/// Runs a CLI verb in-process with stdout and stderr captured, the way a user's shell would see them.
/// Tests that use it belong to the "console" collection, since Console is process-wide.
/// </summary>
internal static class CliHarness
{
    public static (int Code, string Out, string Err) Edgeavsr(params string[] args) =>
        Capture(() => EdgeAvsr.Cli.Program.BuildRoot().Parse(args).Invoke());

    public static (int Code, string Out, string Err) Quantize(params string[] args) =>
        Capture(() => EdgeAvsr.Quantize.Cli.Program.BuildRoot().Parse(args).Invoke());

    private static (int Code, string Out, string Err) Capture(Func<int> run)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var oldOut = Console.Out;
        var oldErr = Console.Error;
        Console.SetOut(stdout);
        Console.SetError(stderr);
        try
        {
            int code = run();
            return (code, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }
}
