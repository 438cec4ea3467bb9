using EdgeAvsr.Runtime;

namespace EdgeAvsr.Cli;

/// <summary>
/// Runs a command body: an <see cref="EdgeAvsrException"/> (an error the user can fix) becomes one line on stderr,
/// its parameters named by their flags, and exit code 2; anything else is a bug and keeps its stack trace.
/// </summary>
internal static class CliAction
{
    /// <summary>The tool's name, the prefix of its error lines: the assembly name (<c>edgeavsr</c>, <c>edgeavsr-quantize</c>).</summary>
    public static string ToolName { get; } = typeof(CliAction).Assembly.GetName().Name ?? "edgeavsr";

    public static int Run(Func<int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        try
        {
            return body();
        }
        catch (EdgeAvsrException e)
        {
            return Fail(e);
        }
    }

    /// <summary>As <see cref="Run"/> for an async body; a cancelled run (Ctrl+C) says so and exits 130.</summary>
    public static async Task<int> RunAsync(Func<Task<int>> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (EdgeAvsrException e)
        {
            return Fail(e);
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine($"{ToolName}: cancelled");
            return ExitCodes.Cancelled;
        }
    }

    /// <summary>One line on stderr and <see cref="ExitCodes.InvalidInput"/>.</summary>
    public static int Fail(EdgeAvsrException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        Console.Error.WriteLine($"{ToolName}: {e.Describe(FlagNames.Of).ReplaceLineEndings(" ")}");
        return ExitCodes.InvalidInput;
    }
}
