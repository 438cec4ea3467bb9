using System.CommandLine;
using EdgeAvsr.Cli.Commands;

namespace EdgeAvsr.Cli;

public static class Program
{
    public static int Main(string[] args) => BuildRoot().Parse(args).Invoke();

    /// <summary>
    /// Every verb is registered here, one line per feature area; each area's commands live in their
    /// own file under Commands/, so the stages add verbs without touching each other.
    /// </summary>
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("edgeavsr: audio-visual speech recognition (Llama-SMoP) on the edge");
        root.Subcommands.Add(DoctorCommand.Create());
        root.Subcommands.Add(ProjectorCommands.CreateProject());
        root.Subcommands.Add(ProjectorCommands.CreateSelfTest());
        root.Subcommands.Add(EncoderCommands.CreateEncode());
        root.Subcommands.Add(VadCommands.CreateVad());
        root.Subcommands.Add(DecoderCommands.CreateGenerate());
        root.Subcommands.Add(DecoderCommands.CreateDecode());
        root.Subcommands.Add(FrontendCommands.CreateFeatures());
        root.Subcommands.Add(FrontendCommands.CreateFrames());
        root.Subcommands.Add(PackCommands.CreateInfo());
        root.Subcommands.Add(TranscribeCommand.Create());
        return root;
    }
}
