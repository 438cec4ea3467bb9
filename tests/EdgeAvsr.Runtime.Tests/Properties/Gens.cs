using System.Text;
using FsCheck;
using FsCheck.Fluent;

namespace EdgeAvsr.Runtime.Tests.Properties;

/// <summary>
/// Generators the round-trip properties share. Byte contents come from a generated seed fed to <see cref="Random"/>, so
/// a replayed FsCheck seed reproduces the very same files.
/// </summary>
internal static class Gens
{
    /// <summary>
    /// Characters names and texts are drawn from: ASCII, JSON's escapes ('"', '\\', control characters), accented, Cyrillic
    /// and CJK letters, and two astral characters (surrogate pairs, never lone surrogates).
    /// </summary>
    private static readonly string[] s_pieces =
    [
        "a", "b", "z", "A", "0", "9", ".", "_", "-", " ", "\"", "\\", "/", "\u0001", "\u001f", "\t", "\u007f", "é", "ß", "ж", "日", "語", "\u00a0",
        "\u200b", "🎙", "😀",
    ];

    /// <summary>A string of 0..<paramref name="max"/> pieces (so its UTF-16 length may be up to twice that).</summary>
    public static Gen<string> Text(int max) =>
        Gen.Choose(0, max).SelectMany(n => Gen.ArrayOf(Gen.Elements(s_pieces), n)).Select(p => string.Concat(p));

    /// <summary>The same kind of string drawn from <paramref name="random"/> (for values built inside one generated seed).</summary>
    public static string Text(Random random, int max) => string.Concat(Enumerable.Range(0, random.Next(max + 1)).Select(_ =>
        s_pieces[random.Next(s_pieces.Length)]));

    public static Gen<string> NonEmptyText(int max) => Text(max).Where(s => s.Length > 0);

    /// <summary>A shape of rank 0..<paramref name="maxRank"/> whose dimensions are 0..<paramref name="maxDim"/> (zero-size included).</summary>
    public static Gen<long[]> Shape(int maxRank, int maxDim) =>
        Gen.Choose(0, maxRank).SelectMany(r => Gen.ArrayOf(Gen.Choose(0, maxDim).Select(d => (long)d), r));

    public static long Elements(long[] shape) => shape.Aggregate(1L, (a, b) => a * b);

    public static byte[] Bytes(int seed, long count)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>
    /// 32-bit patterns that a float format can lose: quiet and signalling NaNs with payloads, both zeros and infinities,
    /// the smallest and largest subnormals, the extremes; otherwise random bits.
    /// </summary>
    public static Gen<int> FloatBits() => Gen.Frequency(
        (1, Gen.Elements(0x7FC00000, 0x7FC00001, unchecked((int)0xFFC12345), 0x7F800001, 0x7FBFFFFF, 0, unchecked((int)0x80000000), 0x7F800000,
            unchecked((int)0xFF800000), 0x00000001, 0x007FFFFF, unchecked((int)0x807FFFFF), 0x7F7FFFFF, 0x00800000)),
        (2, Gen.Choose(int.MinValue, int.MaxValue)));

    public static string Describe(string s) => string.Concat(s.Select(c => c is < ' ' or > '~' ? $"\\u{(int)c:x4}" : c.ToString()));

    public static int Utf8Bytes(string s) => Encoding.UTF8.GetByteCount(s);
}
