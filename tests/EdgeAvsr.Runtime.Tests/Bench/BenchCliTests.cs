using EdgeAvsr.Cli;

namespace EdgeAvsr.Runtime.Tests.Bench;

/// <summary><c>edgeavsr-bench</c>: bad arguments are one line and exit 2 before any work starts.</summary>
[Collection("console")]
public class BenchCliTests
{
    [Theory]
    [InlineData("logmel")]
    [InlineData("projector")]
    [InlineData("encoders")]
    public void Bench_NegativeThreads_IsExit2_BeforeAnyWork(string what)
    {
        var (code, _, stderr) = CliHarness.Bench(what, "--threads", "-2", "--reps", "1");
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Equal("edgeavsr-bench: --threads must be 0 (one per core) or more, got -2", stderr.Trim());
    }
}
