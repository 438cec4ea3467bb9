using System.CommandLine;
using EdgeAvsr.Cli.Commands;

namespace EdgeAvsr.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        var parse = BuildRoot().Parse(args);
        // serve's host drains on SIGTERM/SIGINT and exits 0; System.CommandLine's handler would force exit 143 after 2 s.
        return parse.CommandResult.Command.Name == ServeCommand.Name
            ? parse.Invoke(new InvocationConfiguration { ProcessTerminationTimeout = null })
            : parse.Invoke();
    }

    /// <summary>
    /// Every verb is registered here, one line each; each verb lives in its own file under Commands/,
    /// the options and error handling both tools share in Cli.Shared/.
    /// </summary>
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("edgeavsr: audio-visual speech recognition (Llama-SMoP) on the edge");
        root.Subcommands.Add(DoctorCommand.Create());
        root.Subcommands.Add(ProjectCommand.Create());
        root.Subcommands.Add(SelfTestProjectorCommand.Create());
        root.Subcommands.Add(EncodeCommand.Create());
        root.Subcommands.Add(VadCommand.Create());
        root.Subcommands.Add(GenerateCommand.Create());
        root.Subcommands.Add(DecodeCommand.Create());
        root.Subcommands.Add(FeaturesCommand.Create());
        root.Subcommands.Add(FramesCommand.Create());
        root.Subcommands.Add(InfoCommand.Create());
        root.Subcommands.Add(TranscribeCommand.Create());
        root.Subcommands.Add(EvalCommand.Create());
        root.Subcommands.Add(ServeCommand.Create());
        return root;
    }
}
