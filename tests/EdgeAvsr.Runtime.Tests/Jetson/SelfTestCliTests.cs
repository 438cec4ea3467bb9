using EdgeAvsr.Cli;
using EdgeAvsr.Runtime.Projector.Kernels;

namespace EdgeAvsr.Runtime.Tests.Jetson;

/// <summary>
/// <c>selftest-projector --expect-kernel</c>, which <c>./build.sh arm64</c> uses to prove the SDOT kernel (qemu's default
/// CPU) and the scalar one (<c>-cpu cortex-a57</c>) ran: the kernel this CPU chooses passes, any other is refused.
/// </summary>
[Collection("console")]
public class SelfTestCliTests
{
    [Fact]
    public void ExpectKernel_PassesForTheChosenKernel_AndRefusesAnother()
    {
        using var dir = new TempDir();
        var chosen = KernelRegistry.SelectInt8();
        var (code, stdout, stderr) = CliHarness.Edgeavsr("selftest-projector", "--out", dir.File("ok"), "--expect-kernel", chosen.Name);
        Assert.True(code == 0, stderr);
        Assert.Contains($"int8 kernel chosen: {chosen.Name} (executes natively)", stdout, StringComparison.Ordinal);
        foreach (string layout in new[] { "jejr", "dejr", "dedr" })
        {
            Assert.Contains($"{layout} int8 kernel {chosen.Name} vs scalar: tokens and experts bit-equal", stdout, StringComparison.Ordinal);
        }
        Assert.Contains($"int8 kernel {chosen.Name}: accumulators bit-equal to scalar on 5 shapes", stdout, StringComparison.Ordinal);
        Assert.Contains($"selftest-projector: ok (int8 kernel {chosen.Name})", stdout, StringComparison.Ordinal);

        string other = chosen.Name == "scalar" ? "advsimd-dot" : "scalar";
        (code, stdout, stderr) = CliHarness.Edgeavsr("selftest-projector", "--out", dir.File("refused"), "--expect-kernel", other);
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains($"--expect-kernel {other}: this CPU chose the int8 kernel {chosen.Name}", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("selftest-projector: ok", stdout, StringComparison.Ordinal);
    }
}
