namespace EdgeAvsr.Runtime.Tests;

/// <summary>
/// Runs a CLI verb in-process with stdout and stderr captured (<see cref="ConsoleCapture"/>).
/// Tests that use it belong to the "console" collection, since Console is process-wide.
/// </summary>
internal static class CliHarness
{
    public static (int Code, string Out, string Err) Edgeavsr(params string[] args) =>
        ConsoleCapture.Run(() => EdgeAvsr.Cli.Program.BuildRoot().Parse(args).Invoke());

    public static (int Code, string Out, string Err) Quantize(params string[] args) =>
        ConsoleCapture.Run(() => EdgeAvsr.Quantize.Cli.Program.BuildRoot().Parse(args).Invoke());

    public static (int Code, string Out, string Err) Bench(params string[] args) =>
        ConsoleCapture.Run(() => EdgeAvsr.Bench.Program.BuildRoot().Parse(args).Invoke());
}
