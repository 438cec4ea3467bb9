using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;

namespace EdgeAvsr.Cli;

/// <summary>
/// Sets a command's body, run inside <see cref="CliAction"/>. A word outside a choice option's set (<see cref="ChoiceOptions"/>)
/// becomes one line and exit code 2, as the tools' own errors; every other parse error keeps System.CommandLine's report.
/// </summary>
internal static class CommandActions
{
    [ThreadStatic]
    private static bool t_reportAll;

    public static void Set(Command command, Func<ParseResult, int> body)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Action = new SyncAction(body);
    }

    public static void SetAsync(Command command, Func<ParseResult, CancellationToken, Task<int>> body)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Action = new AsyncAction(body);
    }

    // Null when the parse is clean; else the exit code after reporting the errors.
    private static int? ReportErrors(ParseResult parse)
    {
        if (parse.Errors.Count == 0 && parse.UnmatchedTokens.Count == 0)
        {
            return null;
        }
        if (parse.UnmatchedTokens.Count == 0 && parse.Errors.Select(ChoiceOptions.Describe).FirstOrDefault() is { } line
            && parse.Errors.All(e => ChoiceOptions.Describe(e) is not null))
        {
            Console.Error.WriteLine($"{CliAction.ToolName}: {line}");
            return ExitCodes.InvalidInput;
        }
        // Parse again with every error kept, so System.CommandLine reports them as it does for commands without a choice.
        t_reportAll = true;
        try
        {
            return parse.RootCommandResult.Command.Parse([.. parse.Tokens.Select(t => t.Value)]).Invoke();
        }
        finally
        {
            t_reportAll = false;
        }
    }

    private sealed class SyncAction(Func<ParseResult, int> body) : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => !t_reportAll;

        public override int Invoke(ParseResult parseResult) => ReportErrors(parseResult) ?? CliAction.Run(() => body(parseResult));
    }

    private sealed class AsyncAction(Func<ParseResult, CancellationToken, Task<int>> body) : AsynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => !t_reportAll;

        public override Task<int> InvokeAsync(ParseResult parseResult, CancellationToken cancellationToken = default) =>
            ReportErrors(parseResult) is { } code ? Task.FromResult(code) : CliAction.RunAsync(() => body(parseResult, cancellationToken));
    }
}
