using System.CommandLine;

namespace EdgeAvsr.Bench;

public static class Program
{
    public static int Main(string[] args) => BuildRoot().Parse(args).Invoke();

    /// <summary>One verb per benchmark; each file holds its command and its run.</summary>
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("edgeavsr-bench: EdgeAvsr's benchmarks, each with a baseline or peer in the same run");
        root.Subcommands.Add(ProjectorBenchmark.CreateCommand());
        root.Subcommands.Add(LogMelBenchmark.CreateCommand());
        root.Subcommands.Add(EncoderBenchmark.CreateCommand());
        root.Subcommands.Add(DecoderBenchmark.CreateCommand());
        root.Subcommands.Add(DecoderContentionBenchmark.CreateCommand());
        root.Subcommands.Add(PipelineBenchmark.CreateCommand());
        root.Subcommands.Add(QuantizeBenchmark.CreateCommand());
        return root;
    }
}
