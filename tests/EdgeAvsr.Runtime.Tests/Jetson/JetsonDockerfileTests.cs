using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace EdgeAvsr.Runtime.Tests.Jetson;

/// <summary>
/// jetson.Dockerfile builds the engines and the app from versions it names in ARG lines; the rest of the build takes
/// them from Directory.Packages.props (ONNX Runtime, LLamaSharp), native/llama.cpp.pin (llama.cpp) and global.json
/// (.NET SDK). Nobody here can build the image, so this is what keeps them together: every pinned value must equal its
/// ARG, each ARG must be used, and no pinned value may appear spelled out anywhere else in the Dockerfile.
/// </summary>
public partial class JetsonDockerfileTests
{
    /// <summary>The files that pin what the Dockerfile builds; copied into a scratch folder to doctor them.</summary>
    private static readonly string[] s_pinFiles = ["jetson.Dockerfile", "Directory.Packages.props", "native/llama.cpp.pin", "global.json"];

    /// <summary>Every disagreement between the Dockerfile under <paramref name="root"/> and the files pinning its versions.</summary>
    internal static List<string> Disagreements(string root)
    {
        string dockerfile = File.ReadAllText(Path.Combine(root, "jetson.Dockerfile"));
        var args = ArgLine().Matches(dockerfile).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value.Trim(), StringComparer.Ordinal);
        var props = XDocument.Load(Path.Combine(root, "Directory.Packages.props"));
        string? Package(string id) => props.Descendants("PackageVersion").FirstOrDefault(e => (string?)e.Attribute("Include") == id)?
            .Attribute("Version")?.Value;
        var pin = File.ReadAllLines(Path.Combine(root, "native", "llama.cpp.pin"))
            .Where(l => !l.StartsWith('#') && l.Contains('=', StringComparison.Ordinal))
            .Select(l => l.Split('=', 2))
            .ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.Ordinal);
        using var global = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "global.json")));
        (string Arg, string Source, string? Value)[] expected =
        [
            ("ORT_VERSION", "Directory.Packages.props Microsoft.ML.OnnxRuntime.Managed", Package("Microsoft.ML.OnnxRuntime.Managed")),
            ("ORT_VERSION", "Directory.Packages.props Microsoft.ML.OnnxRuntime", Package("Microsoft.ML.OnnxRuntime")),
            ("LLAMASHARP_VERSION", "Directory.Packages.props LLamaSharp", Package("LLamaSharp")),
            ("LLAMASHARP_VERSION", "Directory.Packages.props LLamaSharp.Backend.Cpu", Package("LLamaSharp.Backend.Cpu")),
            ("LLAMA_CPP_COMMIT", "native/llama.cpp.pin commit", pin.GetValueOrDefault("commit")),
            ("LLAMA_CPP_RELEASE", "native/llama.cpp.pin release", pin.GetValueOrDefault("release")),
            ("DOTNET_SDK_VERSION", "global.json sdk.version", global.RootElement.GetProperty("sdk").GetProperty("version").GetString()),
        ];
        var problems = new List<string>();
        foreach (var (arg, source, value) in expected)
        {
            if (value is null)
            {
                problems.Add($"{source}: not found");
            }
            else if (!args.TryGetValue(arg, out string? inDockerfile))
            {
                problems.Add($"jetson.Dockerfile: no ARG {arg} (expected {value}, from {source})");
            }
            else if (inDockerfile != value)
            {
                problems.Add($"jetson.Dockerfile: ARG {arg}={inDockerfile}, but {source} is {value}");
            }
        }
        // Each pinned ARG is used (${NAME}) and its value is not written out elsewhere, where a bump would miss it.
        string body = string.Join('\n', dockerfile.Split('\n').Where(l => !ArgLine().IsMatch(l) && !l.TrimStart().StartsWith('#')));
        foreach (string arg in expected.Select(e => e.Arg).Distinct())
        {
            if (!body.Contains("${" + arg + "}", StringComparison.Ordinal))
            {
                problems.Add($"jetson.Dockerfile: ARG {arg} is never used as ${{{arg}}}");
            }
            if (args.TryGetValue(arg, out string? value) && body.Contains(value, StringComparison.Ordinal))
            {
                problems.Add($"jetson.Dockerfile: {value} (ARG {arg}) is written out outside its ARG line");
            }
        }
        foreach (string needed in new[] { "CMAKE_CUDA_ARCHITECTURES=${CUDA_ARCH}", "GGML_CUDA_NO_VMM=ON", "GGML_CUDA_FORCE_MMQ=ON", "--use_tensorrt",
            "--use_cuda", "--build_shared_lib", "-r linux-arm64", "deploy/edgeavsr.service", "artifacts/packs/demo" })
        {
            if (!body.Contains(needed, StringComparison.Ordinal))
            {
                problems.Add($"jetson.Dockerfile: does not contain {needed}");
            }
        }
        if (args.GetValueOrDefault("CUDA_ARCH") != "87")
        {
            problems.Add($"jetson.Dockerfile: ARG CUDA_ARCH={args.GetValueOrDefault("CUDA_ARCH")}, the Orin is sm_87");
        }
        return problems;
    }

    [Fact]
    public void Dockerfile_AgreesWithThePinningFiles()
    {
        var problems = Disagreements(Tools.RepoRoot);
        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Theory]
    [InlineData("Directory.Packages.props", "Include=\"Microsoft.ML.OnnxRuntime.Managed\" Version=\"1.32.0\"",
        "Include=\"Microsoft.ML.OnnxRuntime.Managed\" Version=\"1.33.0\"",
        "ARG ORT_VERSION=1.32.0, but Directory.Packages.props Microsoft.ML.OnnxRuntime.Managed is 1.33.0")]
    [InlineData("native/llama.cpp.pin", "commit=815a2a5915f22ce6a760c676389c5dfe8535c08f", "commit=0123456789abcdef0123456789abcdef01234567",
        "ARG LLAMA_CPP_COMMIT=815a2a5915f22ce6a760c676389c5dfe8535c08f, but native/llama.cpp.pin commit is 0123456789abcdef0123456789abcdef01234567")]
    [InlineData("global.json", "\"version\": \"10.0.401\"", "\"version\": \"10.0.402\"",
        "ARG DOTNET_SDK_VERSION=10.0.401, but global.json sdk.version is 10.0.402")]
    [InlineData("jetson.Dockerfile", "ARG LLAMASHARP_VERSION=0.30.0", "ARG LLAMASHARP_VERSION=0.29.0",
        "ARG LLAMASHARP_VERSION=0.29.0, but Directory.Packages.props LLamaSharp is 0.30.0")]
    [InlineData("jetson.Dockerfile", "git checkout ${LLAMA_CPP_COMMIT}", "git checkout 815a2a5915f22ce6a760c676389c5dfe8535c08f",
        "815a2a5915f22ce6a760c676389c5dfe8535c08f (ARG LLAMA_CPP_COMMIT) is written out outside its ARG line")]
    [InlineData("jetson.Dockerfile", "-DGGML_CUDA_NO_VMM=ON ", "", "does not contain GGML_CUDA_NO_VMM=ON")]
    public void DoctoredCopy_FailsNamingTheMismatch(string file, string from, string to, string expected)
    {
        using var dir = new TempDir();
        foreach (string f in s_pinFiles)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(dir.File(f))!);
            File.Copy(Path.Combine(Tools.RepoRoot, f), dir.File(f));
        }
        Assert.Empty(Disagreements(dir.Path));
        string text = File.ReadAllText(dir.File(file));
        Assert.Contains(from, text, StringComparison.Ordinal);
        File.WriteAllText(dir.File(file), text.Replace(from, to, StringComparison.Ordinal));
        var problems = Disagreements(dir.Path);
        Assert.Contains(problems, p => p.Contains(expected, StringComparison.Ordinal));
    }

    [GeneratedRegex(@"^ARG\s+([A-Z0-9_]+)=(.*)$", RegexOptions.Multiline)]
    private static partial Regex ArgLine();
}
