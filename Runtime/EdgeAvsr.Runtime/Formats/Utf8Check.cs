using System.Text;

namespace EdgeAvsr.Runtime.Formats;

/// <summary>
/// Where bytes stop being UTF-8. System.Text.Json checks UTF-8 only when a string is read (throwing
/// <see cref="InvalidOperationException"/>), so readers of user files check the whole text first and name the byte.
/// </summary>
internal static class Utf8Check
{
    private static readonly UTF8Encoding s_strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The offset of the first byte that is not part of valid UTF-8, or -1 when all of <paramref name="bytes"/> is.</summary>
    public static int FirstInvalidByte(ReadOnlySpan<byte> bytes)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes))
        {
            return -1;
        }
        try
        {
            _ = s_strict.GetCharCount(bytes);
        }
        catch (DecoderFallbackException e)
        {
            return Math.Max(0, e.Index);
        }
        return 0;
    }

    /// <summary>An error naming <paramref name="source"/>, <paramref name="what"/> and the first invalid byte, or null when the bytes are UTF-8.</summary>
    public static EdgeAvsrException? Check(ReadOnlySpan<byte> bytes, string source, string what, string offsetName = "byte")
    {
        int at = FirstInvalidByte(bytes);
        return at < 0 ? null : new EdgeAvsrException($"{source}: {what} is not UTF-8 (invalid byte 0x{bytes[at]:X2} at {offsetName} {at})");
    }
}
