using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using System.Text.RegularExpressions;
using EdgeAvsr.Tests.Shared;

namespace EdgeAvsr.Runtime.Tests.Boundaries;

/// <summary>
/// The runtime library speaks data: it knows no command line (no System.CommandLine, no exit codes, no <c>--flag</c> text)
/// and holds no use case (a file-in/file-out job); its stages depend on the shared layers below them, never on each other.
/// </summary>
public sealed partial class RuntimeBoundaryTests
{
    private static readonly Assembly s_runtime = typeof(EdgeAvsrException).Assembly;

    [Fact]
    public void RuntimeDoesNotReferenceTheCommandLine()
    {
        var names = s_runtime.GetReferencedAssemblies().Select(a => a.Name).ToList();
        Assert.DoesNotContain("System.CommandLine", names);
    }

    [Fact]
    public void RuntimeHoldsNoExitCodesAndNoUseCases()
    {
        // Public types only: a use case is an entry point (internal work items such as a pipeline's UtteranceJob are not).
        var offenders = s_runtime.GetExportedTypes()
            .Where(t => t.Name is "ExitCodes" or "CliAction" || t.Name.EndsWith("Job", StringComparison.Ordinal)
                || t.Name.EndsWith("Command", StringComparison.Ordinal))
            .Select(t => t.FullName)
            .ToList();
        Assert.True(offenders.Count == 0, $"command-line types in the runtime library: {string.Join(", ", offenders)}");
    }

    [Fact]
    public void RuntimeStringsNameNoCommandLineFlag()
    {
        using var stream = File.OpenRead(s_runtime.Location);
        using var pe = new PEReader(stream);
        var reader = pe.GetMetadataReader();
        var flags = new List<string>();
        var handle = MetadataTokens.UserStringHandle(1);
        while (!handle.IsNil)
        {
            string text = reader.GetUserString(handle);
            if (FlagPattern().IsMatch(text))
            {
                flags.Add(text);
            }
            handle = reader.GetNextHandle(handle);
        }
        Assert.True(flags.Count == 0, $"string literals in the runtime library name CLI flags: {string.Join(" | ", flags)}");
    }

    /// <summary>Which folders (namespaces) of the runtime library each folder may use.</summary>
    private static readonly Dictionary<string, string[]> s_allowed = new()
    {
        ["Formats"] = [],
        ["Interop"] = ["Formats"],
        ["Onnx"] = ["Formats", "Interop"],
        ["Audio"] = ["Formats", "Interop", "Onnx"],
        ["Video"] = ["Formats", "Interop", "Onnx"],
        ["Encoders"] = ["Formats", "Interop", "Onnx"],
        ["Projector"] = ["Formats", "Interop"],
        ["Decoding"] = ["Formats", "Interop"],
        ["Pack"] = ["Formats", "Interop", "Onnx", "Encoders", "Projector", "Decoding"],
        ["Pipeline"] = ["Formats", "Interop", "Onnx", "Audio", "Video", "Encoders", "Projector", "Decoding", "Pack"],
    };

    [Fact]
    public void StagesUseOnlyTheLayersBelowThem()
    {
        string root = Path.Combine(Tools.RepoRoot, "Runtime", "EdgeAvsr.Runtime");
        var violations = new List<string>();
        foreach (var (folder, uses) in DependencyPicture(root))
        {
            if (!s_allowed.TryGetValue(folder, out var allowed))
            {
                violations.Add($"{folder}/ is not in the layer table of this test");
                continue;
            }
            violations.AddRange(uses.Where(u => !allowed.Contains(u)).Select(u => $"{folder} -> {u}"));
        }
        Assert.True(violations.Count == 0, $"folders using what they must not: {string.Join(", ", violations)}");
    }

    [Fact]
    public void DependencyScanSeesAQualifiedName()
    {
        // The scan must find both spellings of a dependency, or the test above could not fail.
        Assert.Equal(["Pack", "Video"], UsedFolders("using EdgeAvsr.Runtime.Video;\nvar x = EdgeAvsr.Runtime.Pack.ModelPack.Open(d);", "Audio"));
        Assert.Empty(UsedFolders("namespace EdgeAvsr.Runtime.Audio;\n// EdgeAvsr.Runtime.Audio.WavReader", "Audio"));
    }

    /// <summary>Folder -> the other folders its sources name (using directives and qualified names).</summary>
    internal static SortedDictionary<string, SortedSet<string>> DependencyPicture(string root)
    {
        var picture = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach (string dir in Directory.GetDirectories(root).Where(d => Path.GetFileName(d) is not ("bin" or "obj")))
        {
            string folder = Path.GetFileName(dir);
            var uses = new SortedSet<string>(StringComparer.Ordinal);
            foreach (string file in Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories))
            {
                uses.UnionWith(UsedFolders(File.ReadAllText(file), folder));
            }
            picture[folder] = uses;
        }
        return picture;
    }

    private static SortedSet<string> UsedFolders(string source, string self)
    {
        var found = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string line in source.Split('\n'))
        {
            string code = line.TrimStart();
            if (code.StartsWith("//", StringComparison.Ordinal) || code.StartsWith("namespace ", StringComparison.Ordinal))
            {
                continue;
            }
            foreach (Match m in QualifiedName().Matches(code))
            {
                if (m.Groups[1].Value != self)
                {
                    found.Add(m.Groups[1].Value);
                }
            }
        }
        return found;
    }

    [GeneratedRegex(@"EdgeAvsr\.Runtime\.([A-Z][A-Za-z0-9]*)\b(?!\.Tests)")]
    private static partial Regex QualifiedName();

    [GeneratedRegex(@"(^|[\s'""(=`])--[a-z][a-z0-9-]+")]
    private static partial Regex FlagPattern();
}
