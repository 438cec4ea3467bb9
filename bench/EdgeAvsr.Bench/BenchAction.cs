using EdgeAvsr.Runtime;

namespace EdgeAvsr.Bench;

/// <summary>
/// Runs a benchmark body: an <see cref="EdgeAvsrException"/> (an error the user can fix) becomes one line on stderr
/// and exit code 2; anything else is a bug and keeps its stack trace.
/// </summary>
internal static class BenchAction
{
    private const string Name = "edgeavsr-bench";

    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (EdgeAvsrException e)
        {
            Console.Error.WriteLine($"{Name}: {e.Message.ReplaceLineEndings(" ")}");
            return ExitCodes.InvalidInput;
        }
    }

    /// <summary>As <see cref="Run"/> for an async body; a cancelled run (Ctrl+C) says so and exits 130.</summary>
    public static async Task<int> RunAsync(Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (EdgeAvsrException e)
        {
            Console.Error.WriteLine($"{Name}: {e.Message.ReplaceLineEndings(" ")}");
            return ExitCodes.InvalidInput;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine($"{Name}: cancelled");
            return ExitCodes.Cancelled;
        }
    }
}
