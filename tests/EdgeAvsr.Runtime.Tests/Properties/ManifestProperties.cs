using System.Security.Cryptography;
using EdgeAvsr.Quantize.Pack;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Pack;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace EdgeAvsr.Runtime.Tests.Properties;

/// <summary><see cref="PackWriter.WriteManifest"/> to <see cref="PackManifestJson.Read"/>: manifest.json says what was written.</summary>
public class ManifestProperties
{
    public sealed record ManifestCase(string Name, string[] Prompts, string Input, string Output, string Projector, string Decoder, string[] Extras,
        int Seed, int Beams, int MaxNewTokens)
    {
        public override string ToString() => $"name '{Gens.Describe(Name)}', prompts [{string.Join(", ", Prompts.Select(Gens.Describe))}], encoder " +
            $"'{Gens.Describe(Input)}'/'{Gens.Describe(Output)}', projector '{Gens.Describe(Projector)}', decoder '{Gens.Describe(Decoder)}', extras " +
            $"[{string.Join(", ", Extras.Select(Gens.Describe))}], seed {Seed}, beams {Beams}, max_new_tokens {MaxNewTokens}";
    }

    /// <summary>A file name the manifest accepts: one path segment, any other character (unicode, spaces, quotes, control characters).</summary>
    private static readonly Gen<string> s_fileName = Gens.NonEmptyText(6).Where(n => !n.Contains('/', StringComparison.Ordinal)
        && !n.Contains('\\', StringComparison.Ordinal) && !n.Contains('\0', StringComparison.Ordinal) && n is not ("." or ".." or PackManifest.FileName));

    private static readonly Gen<ManifestCase> s_case =
        from name in Gens.Text(10)
        from prompts in Gen.ArrayOf(Gens.Text(12), 3)
        from input in Gens.NonEmptyText(6)
        from output in Gens.NonEmptyText(6)
        from projector in s_fileName
        from decoder in s_fileName.Where(d => d != projector)
        from extras in Gen.Choose(0, 3).SelectMany(n => Gen.ArrayOf(Gen.Frequency((3, s_fileName), (1, s_fileName.Select(f => "sub/" + f))), n))
        from seed in Gen.Choose(0, int.MaxValue)
        from beams in Gen.Choose(1, 8)
        from maxNew in Gen.Choose(1, 4096)
        select new ManifestCase(name, prompts, input, output, projector, decoder, extras, seed, beams, maxNew);

    private static readonly Lazy<PackManifest> s_seed = new(() =>
        PackManifestJson.Read(Path.Combine(Tools.RepoRoot, "fuzz", "corpus", "manifest", PackManifest.FileName)));

    /// <summary>
    /// The pack's strings (name, prompts, encoder input and output names, file names with unicode, quotes and control
    /// characters, files in a subfolder) and numbers come back as written, and every file is listed once with its real size and
    /// SHA-256; writing the manifest read back gives the same bytes.
    /// </summary>
    [Property(MaxTest = 80, Replay = "(19190025,19190027)")]
    public Property PackManifest_WriteThenRead_SaysWhatWasWritten() => Prop.ForAll(Arb.From(s_case), c =>
    {
        using var dir = new TempDir();
        var random = new Random(c.Seed);
        var seed = s_seed.Value;
        var draft = seed with
        {
            Name = c.Name,
            Prompts = new Dictionary<AvsrTask, string> { [AvsrTask.Asr] = c.Prompts[0], [AvsrTask.Vsr] = c.Prompts[1], [AvsrTask.Avsr] = c.Prompts[2] },
            AudioEncoder = seed.AudioEncoder! with { InputName = c.Input, OutputName = c.Output },
            Projector = seed.Projector with { File = c.Projector },
            Decoder = seed.Decoder with { File = c.Decoder },
            Decoding = seed.Decoding with { Beams = c.Beams, MaxNewTokens = c.MaxNewTokens },
        };
        var names = draft.ComponentFiles().Select(f => f.File).Concat(c.Extras).Distinct(StringComparer.Ordinal).ToArray();
        foreach (string n in names)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(dir.File(n))!);
            File.WriteAllBytes(dir.File(n), Gens.Bytes(random.Next(), random.Next(0, 300)));
        }
        var written = PackWriter.WriteManifest(dir.Path, draft, c.Extras);
        var read = PackManifestJson.Read(dir.File(PackManifest.FileName));
        Assert.Equal(c.Name, read.Name);
        Assert.Equal(c.Prompts, new[] { AvsrTask.Asr, AvsrTask.Vsr, AvsrTask.Avsr }.Select(t => read.Prompts[t]));
        Assert.Equal((c.Input, c.Output), (read.AudioEncoder!.InputName, read.AudioEncoder.OutputName));
        Assert.Equal((c.Projector, c.Decoder), (read.Projector.File, read.Decoder.File));
        Assert.Equal((c.Beams, c.MaxNewTokens), (read.Decoding.Beams, read.Decoding.MaxNewTokens));
        Assert.Equal(names, read.Files.Select(f => f.Path));
        foreach (var f in read.Files)
        {
            byte[] bytes = File.ReadAllBytes(dir.File(f.Path));
            Assert.Equal(bytes.LongLength, f.Bytes);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), f.Sha256);
        }
        Assert.Equal(PackManifestJson.ToUtf8(written), PackManifestJson.ToUtf8(read));
        Assert.Equal(File.ReadAllBytes(dir.File(PackManifest.FileName)), PackManifestJson.ToUtf8(read));
    });
}
