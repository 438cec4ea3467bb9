using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace EdgeAvsr.Runtime.Tests.Jetson;

/// <summary>
/// The Jetson image runs on JetPack 6 (Ubuntu 22.04, glibc 2.35), while everything here is built on Debian 12
/// (glibc 2.36): a binary linked against a 2.36 symbol would build and pass every test here and then refuse to
/// start on the device. These tests read the glibc symbol versions of every ELF file the image would ship that
/// was built here: the linux-arm64 publish folder of <c>./build.sh arm64</c> (the edgeavsr binary; later also our
/// own .so files). The folder is <c>artifacts/arm64/edgeavsr</c>, or <c>$EDGEAVSR_ARM64_PUBLISH_DIR</c>.
/// </summary>
public partial class GlibcFloorTests(ITestOutputHelper output)
{
    /// <summary>JetPack 6's glibc.</summary>
    private static readonly Version s_jetsonGlibc = new(2, 35);

    internal static string ShipDirectory =>
        Environment.GetEnvironmentVariable("EDGEAVSR_ARM64_PUBLISH_DIR") is { Length: > 0 } dir
            ? dir
            : Path.Combine(Tools.RepoRoot, "artifacts", "arm64", "edgeavsr");

    /// <summary>Runs only where the arm64 publish output exists; elsewhere xunit reports the test skipped with the reason.</summary>
    public sealed class Arm64PublishFactAttribute : FactAttribute
    {
        public Arm64PublishFactAttribute()
        {
            if (!File.Exists(Path.Combine(ShipDirectory, "edgeavsr")))
            {
                Skip = $"no linux-arm64 publish output at {ShipDirectory} (made by ./build.sh arm64)";
            }
        }
    }

    [Arm64PublishFact]
    public void ShippedFiles_NeedNoGlibcNewerThanJetPack6()
    {
        var elfFiles = Directory.EnumerateFiles(ShipDirectory, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(".dbg", StringComparison.Ordinal) && ElfVersionNeeds.IsElf(f))
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.Contains(Path.Combine(ShipDirectory, "edgeavsr"), elfFiles);
        var failures = new List<string>();
        foreach (string file in elfFiles)
        {
            string name = Path.GetRelativePath(ShipDirectory, file);
            Assert.True(ElfVersionNeeds.Machine(file) == ElfVersionNeeds.MachineAarch64, $"{name}: not an aarch64 ELF file");
            var needs = ElfVersionNeeds.Read(file);
            var above = ElfVersionNeeds.GlibcNeedsAbove(needs, s_jetsonGlibc);
            string highest = ElfVersionNeeds.HighestGlibc(needs)?.ToString() ?? "none";
            output.WriteLine($"{name}: {needs.Count} versioned needs, highest glibc {highest}, above {s_jetsonGlibc}: {above.Count}");
            failures.AddRange(above.Select(a => $"{name}: {a}"));
        }
        Assert.True(failures.Count == 0, $"needs glibc newer than {s_jetsonGlibc} (JetPack 6):\n" + string.Join('\n', failures));
    }

    /// <summary>
    /// Our reader against binutils' readelf on the same files: every versioned undefined dynamic symbol, as a set.
    /// Checked on a host binary always, and on the arm64 edgeavsr when it has been published.
    /// </summary>
    [Fact]
    public void Reader_AgreesWithReadelf()
    {
        var files = new List<string> { "/bin/ls", Tools.Run("sh", "-c", "command -v ffmpeg").Trim() };
        string arm64 = Path.Combine(ShipDirectory, "edgeavsr");
        if (File.Exists(arm64))
        {
            files.Add(arm64);
        }
        else
        {
            output.WriteLine($"no arm64 publish output at {ShipDirectory}: compared on host binaries only");
        }
        foreach (string file in files)
        {
            var ours = ElfVersionNeeds.Read(file).Where(n => n.Symbol.Length > 0).Select(n => $"{n.Symbol}@{n.Version}").ToHashSet();
            var theirs = ReadelfUndefinedVersioned(file);
            output.WriteLine($"{file}: {ours.Count} versioned undefined symbols (readelf: {theirs.Count})");
            Assert.NotEmpty(theirs);
            Assert.Equal(theirs.Order(StringComparer.Ordinal), ours.Order(StringComparer.Ordinal));
        }
    }

    /// <summary>
    /// The check can fail: a program calling <c>arc4random</c> (new in glibc 2.36, Debian 12's glibc), linked here by the
    /// system compiler, is reported by name and version; the same program without it passes.
    /// </summary>
    [Fact]
    public void Check_NamesASymbolNewerThanTheFloor()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("new.c"), "#include <stdlib.h>\n#include <stdio.h>\nint main(void) { printf(\"%u\\n\", arc4random()); return 0; }\n");
        File.WriteAllText(dir.File("old.c"), "#include <stdio.h>\nint main(void) { puts(\"ok\"); return 0; }\n");
        Tools.Run("cc", "-O1", "-o", dir.File("new"), dir.File("new.c"));
        Tools.Run("cc", "-O1", "-o", dir.File("old"), dir.File("old.c"));

        var above = ElfVersionNeeds.GlibcNeedsAbove(ElfVersionNeeds.Read(dir.File("new")), s_jetsonGlibc);
        output.WriteLine($"new: {string.Join(", ", above)}");
        Assert.Equal(["arc4random@GLIBC_2.36 (libc.so.6)"], above);
        Assert.Empty(ElfVersionNeeds.GlibcNeedsAbove(ElfVersionNeeds.Read(dir.File("old")), s_jetsonGlibc));
        // The floor is exclusive: 2.36 passes a 2.36 floor, and a symbol without a version number fails any floor.
        Assert.Empty(ElfVersionNeeds.GlibcNeedsAbove(ElfVersionNeeds.Read(dir.File("new")), new Version(2, 36)));
        Assert.Equal(["f@GLIBC_PRIVATE (libc.so.6)"], ElfVersionNeeds.GlibcNeedsAbove([new VersionedSymbol("f", "GLIBC_PRIVATE", "libc.so.6")], s_jetsonGlibc));
    }

    /// <summary>A truncated file is an error naming it, not an empty answer.</summary>
    [Fact]
    public void Reader_RefusesATruncatedFile()
    {
        using var dir = new TempDir();
        byte[] ls = File.ReadAllBytes("/bin/ls");
        string cut = dir.File("cut");
        File.WriteAllBytes(cut, ls[..(ls.Length / 2)]);
        var e = Assert.Throws<InvalidDataException>(() => ElfVersionNeeds.Read(cut));
        Assert.Contains(cut, e.Message, StringComparison.Ordinal);
    }

    /// <summary>readelf --dyn-syms lists undefined versioned symbols as "name@VERSION (index)".</summary>
    private static HashSet<string> ReadelfUndefinedVersioned(string file)
    {
        var set = new HashSet<string>();
        foreach (string line in Tools.Run("readelf", "-W", "--dyn-syms", file).Split('\n'))
        {
            var m = DynSymLine().Match(line);
            if (m.Success && m.Groups["ndx"].Value == "UND")
            {
                set.Add(m.Groups["name"].Value);
            }
        }
        return set;
    }

    // "    12: 0000000000000000     0 FUNC    GLOBAL DEFAULT  UND free@GLIBC_2.17 (2)"
    [GeneratedRegex(@"^\s*\d+:\s+[0-9a-f]+\s+\d+\s+\w+\s+\w+\s+\w+\s+(?<ndx>\w+)\s+(?<name>[^@\s]+@[^@\s]+)\s+\(\d+\)\s*$")]
    private static partial Regex DynSymLine();
}
