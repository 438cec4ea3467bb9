using System.Reflection;
using System.Text;

namespace EdgeAvsr.Runtime.Interop;

/// <summary>
/// The llama.cpp release and commit the decoder's ABI is pinned to, from <c>native/llama.cpp.pin</c> (embedded in this
/// assembly; the device image reads the same file).
/// </summary>
/// <param name="Release">The llama.cpp release tag, e.g. b10221.</param>
/// <param name="Commit">The full 40-digit commit hash.</param>
public sealed record LlamaPin(string Release, string Commit)
{
    private const string ResourceName = "llama.cpp.pin";

    /// <summary>The LLamaSharp package version this runtime was built with (Directory.Packages.props, recorded at build time).</summary>
    public static string PackageVersion { get; } = typeof(LlamaPin).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .FirstOrDefault(a => a.Key == "LLamaSharpPackageVersion")?.Value ?? "?";

    /// <summary>The embedded pin file's <c>release=</c> and <c>commit=</c> lines.</summary>
    public static LlamaPin Read()
    {
        using var stream = typeof(LlamaPin).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"resource {ResourceName} is not embedded");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return Parse(reader.ReadToEnd());
    }

    internal static LlamaPin Parse(string text)
    {
        var values = text.Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split('=', 2))
            .Where(p => p.Length == 2)
            .ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.Ordinal);
        string release = values.GetValueOrDefault("release") ?? throw new EdgeAvsrException($"{ResourceName}: no release= line");
        string commit = values.GetValueOrDefault("commit") ?? throw new EdgeAvsrException($"{ResourceName}: no commit= line");
        if (commit.Length != 40 || !commit.All(IsHex))
        {
            throw new EdgeAvsrException($"{ResourceName}: commit '{commit}' is not a 40-digit hex hash");
        }
        return new LlamaPin(release, commit);
    }

    /// <summary>True when <paramref name="ggmlCommit"/> (ggml's short hash, 7+ digits) abbreviates the pinned commit.</summary>
    public bool Matches(string ggmlCommit) =>
        ggmlCommit is { Length: >= 7 and <= 40 } && Commit.StartsWith(ggmlCommit, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The commit string compiled into a libggml-base file (what <c>ggml_commit()</c> returns): LLamaSharp does not bind
    /// that function, so the library's read-only strings are searched for NUL-terminated hex hashes of 7 to 40 digits
    /// (with a letter and a digit). The one abbreviating the pin wins; else a lone candidate; else null.
    /// </summary>
    public string? FindCommit(string libggmlBase)
    {
        byte[] bytes = File.ReadAllBytes(libggmlBase);
        var candidates = new List<string>();
        int start = 0;
        for (int i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] != 0)
            {
                continue;
            }
            int length = i - start;
            if (length is >= 7 and <= 40 && start > 0 && bytes[start - 1] == 0)
            {
                var run = bytes.AsSpan(start, length);
                bool hex = true, letter = false, digit = false;
                foreach (byte b in run)
                {
                    hex &= IsHex((char)b);
                    letter |= b is >= (byte)'a' and <= (byte)'f';
                    digit |= b is >= (byte)'0' and <= (byte)'9';
                }
                if (hex && letter && digit)
                {
                    candidates.Add(Encoding.ASCII.GetString(run));
                }
            }
            start = i + 1;
        }
        return candidates.FirstOrDefault(Matches) ?? (candidates.Distinct(StringComparer.Ordinal).Count() == 1 ? candidates[0] : null);
    }

    private static bool IsHex(char c) => c is (>= '0' and <= '9') or (>= 'a' and <= 'f');
}
