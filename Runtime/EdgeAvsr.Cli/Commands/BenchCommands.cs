using System.CommandLine;

namespace EdgeAvsr.Cli.Commands;

/// <summary><c>edgeavsr bench WHAT</c>: benchmarks with their peers in the same run, reported as ratios.</summary>
internal static class BenchCommands
{
    public static Command Create()
    {
        var bench = new Command("bench", "Benchmarks, each with a baseline or peer in the same run");
        bench.Subcommands.Add(Benchmarks.ProjectorBenchmark.CreateCommand());
        bench.Subcommands.Add(Benchmarks.LogMelBenchmark.CreateCommand());
        bench.Subcommands.Add(Benchmarks.EncoderBenchmark.CreateCommand());
        bench.Subcommands.Add(Benchmarks.DecoderBenchmark.CreateCommand());
        bench.Subcommands.Add(Benchmarks.PipelineBenchmark.CreateCommand());
        return bench;
    }
}
