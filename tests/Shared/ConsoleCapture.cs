namespace EdgeAvsr.Tests.Shared;

/// <summary>
/// Runs a CLI in-process with stdout and stderr captured, the way a user's shell would see them (shared by both test
/// projects). Tests that use it belong to the "console" collection, since Console is process-wide.
/// </summary>
internal static class ConsoleCapture
{
    public static (int Code, string Out, string Err) Run(Func<int> run)
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
