using EdgeAvsr.Fuzz;

namespace EdgeAvsr.Runtime.Tests.Fuzz;

/// <summary>
/// The fuzzing harnesses (fuzz/EdgeAvsr.Fuzz, docs/fuzzing.md) run on every committed input: each seed of
/// fuzz/corpus/TARGET and each finding kept under fuzz/regressions/TARGET must be handled by its harness, i.e. accepted
/// or refused with an <see cref="EdgeAvsrException"/>, never another exception.
/// </summary>
public class FuzzRegressionTests
{
    private static TheoryData<string, string> Inputs(string folder)
    {
        var data = new TheoryData<string, string>();
        string root = Path.Combine(Tools.RepoRoot, "fuzz", folder);
        foreach (string dir in Directory.GetDirectories(root).Order(StringComparer.Ordinal))
        {
            foreach (string file in Directory.GetFiles(dir).Order(StringComparer.Ordinal))
            {
                data.Add(Path.GetFileName(dir), Path.GetRelativePath(root, file));
            }
        }
        return data;
    }

    public static TheoryData<string, string> Seeds => Inputs("corpus");

    public static TheoryData<string, string> Findings => Inputs("regressions");

    [Fact]
    public void EveryTarget_HasASeedCorpus()
    {
        foreach (string target in FuzzTargets.All.Keys)
        {
            Assert.NotEmpty(Directory.GetFiles(Path.Combine(Tools.RepoRoot, "fuzz", "corpus", target)));
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Seed_IsHandledByItsHarness(string target, string file) =>
        FuzzTargets.Run(target, File.ReadAllBytes(Path.Combine(Tools.RepoRoot, "fuzz", "corpus", file)));

    [Theory]
    [MemberData(nameof(Findings))]
    public void Finding_IsHandledByItsHarness(string target, string file) =>
        FuzzTargets.Run(target, File.ReadAllBytes(Path.Combine(Tools.RepoRoot, "fuzz", "regressions", file)));
}
