using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace EdgeAvsr.Runtime.Tests.Boundaries;

/// <summary>
/// The shipped edge binary (<c>edgeavsr</c> and the runtime library it is built from) carries no benchmark, synthetic
/// model generator or offline writer: those live in bench/, lab/ and Quantize. Read by reflection from the assemblies
/// the NativeAOT publish compiles, so a type moved back by mistake fails here rather than in a binary size report.
/// </summary>
public class ShippedTypesTests
{
    /// <summary>Type names that belong to the lab, the benchmarks or the offline writers, never to the edge binary.</summary>
    private static readonly HashSet<string> ForbiddenTypeNames = new(StringComparer.Ordinal)
    {
        // Benchmarks (bench/EdgeAvsr.Bench) and the bench verbs the two CLIs had.
        "BenchAction", "BenchStats", "BenchCommands", "BenchCommand", "ProjectorBenchmark", "LogMelBenchmark", "EncoderBenchmark",
        "DecoderBenchmark", "PipelineBenchmark", "QuantizeBenchmark",
        // Synthetic model and checkpoint generators (lab/EdgeAvsr.Synthetic).
        "TinyLlamaGenerator", "TinyLlamaSpec", "TinyLora", "SyntheticCheckpoint", "SyntheticCheckpointSpec", "ByteLevelBpe",
        "SafetensorsStreamWriter",
        // Offline writers (Quantize).
        "GgufWriter", "GgufDataWriter", "PackWriter",
    };

    /// <summary>Namespace parts of those projects (EdgeAvsr.Bench, EdgeAvsr.Synthetic, and the folders they came from).</summary>
    private static readonly HashSet<string> ForbiddenNamespaceParts = new(StringComparer.Ordinal)
    {
        "Bench", "Benchmarks", "Synthetic", "Testing",
    };

    /// <summary>Assemblies the edge binary must not reference: the lab, the benchmarks and the quantizer.</summary>
    private static readonly string[] ForbiddenReferences = ["EdgeAvsr.Synthetic", "edgeavsr-bench", "EdgeAvsr.Quantize", "edgeavsr-quantize"];

    public static TheoryData<string> ShippedAssemblies => ["EdgeAvsr.Runtime", "edgeavsr"];

    private static Assembly Load(string name) => name switch
    {
        "EdgeAvsr.Runtime" => typeof(EdgeAvsrException).Assembly,
        "edgeavsr" => typeof(EdgeAvsr.Cli.Program).Assembly,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "not a shipped assembly"),
    };

    /// <summary>"A.B.Outer+Inner" -> namespace parts [A, B] and type names [Outer, Inner].</summary>
    internal static (string[] NamespaceParts, string[] TypeNames) Split(Type type)
    {
        var names = new List<string>();
        for (var t = type; t is not null; t = t.DeclaringType)
        {
            names.Insert(0, t.Name);
        }
        string[] parts = (type.Namespace ?? "").Split('.', StringSplitOptions.RemoveEmptyEntries);
        return (parts, names.ToArray());
    }

    [Theory]
    [MemberData(nameof(ShippedAssemblies))]
    public void ShippedAssembly_DeclaresNoBenchGeneratorOrWriterType(string name)
    {
        var assembly = Load(name);
        Assert.Equal(name, assembly.GetName().Name);
        var found = new List<string>();
        foreach (var type in assembly.GetTypes())
        {
            var (parts, names) = Split(type);
            if (names.Any(ForbiddenTypeNames.Contains) || parts.Any(ForbiddenNamespaceParts.Contains))
            {
                found.Add(type.FullName ?? type.Name);
            }
        }
        Assert.True(found.Count == 0, $"{name} declares {found.Count} lab/bench/writer types: {string.Join(", ", found.Take(20))}");
    }

    [Theory]
    [MemberData(nameof(ShippedAssemblies))]
    public void ShippedAssembly_ReferencesNoLabBenchOrQuantizer(string name)
    {
        var references = Load(name).GetReferencedAssemblies().Select(a => a.Name).ToList();
        Assert.Contains("System.Runtime", references);
        var forbidden = references.Where(r => ForbiddenReferences.Contains(r, StringComparer.Ordinal)).ToList();
        Assert.True(forbidden.Count == 0, $"{name} references {string.Join(", ", forbidden)}");
    }

    /// <summary>The one generator the runtime may keep: selftest-projector writes its seeded weights with it.</summary>
    [Fact]
    public void SyntheticProjector_StaysOnlyWhileSelftestUsesIt()
    {
        const string Namespace = "EdgeAvsr.Runtime.Projector", Name = "SyntheticProjector";
        if (Load("EdgeAvsr.Runtime").GetType($"{Namespace}.{Name}") is null)
        {
            return;
        }
        using var pe = new PEReader(File.OpenRead(Load("edgeavsr").Location));
        var md = pe.GetMetadataReader();
        bool referenced = md.TypeReferences.Select(md.GetTypeReference)
            .Any(t => md.GetString(t.Name) == Name && md.GetString(t.Namespace) == Namespace);
        Assert.True(referenced, $"{Namespace}.{Name} is in the runtime but edgeavsr (selftest-projector) no longer uses it: move it to lab/");
    }

    [Fact]
    public void Split_SeesNestedTypesAndNamespaceParts()
    {
        var (parts, names) = Split(typeof(Nest.Inner));
        Assert.Equal(["EdgeAvsr", "Runtime", "Tests", "Boundaries"], parts);
        Assert.Equal(["ShippedTypesTests", "Nest", "Inner"], names);
    }

    private static class Nest
    {
        public sealed class Inner;
    }
}
