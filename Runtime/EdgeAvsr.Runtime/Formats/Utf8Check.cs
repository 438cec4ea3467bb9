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

    /// <summary>
    /// The offset of the first <c>\uXXXX</c> escape in JSON text that is half of a surrogate pair without its other half
    /// (<c>"\ud800"</c>), or -1. Such a string is valid JSON but no text: System.Text.Json throws
    /// <see cref="InvalidOperationException"/> only when it is read.
    /// </summary>
    public static int FirstLoneSurrogateEscape(ReadOnlySpan<byte> json)
    {
        int pendingHigh = -1;
        for (int i = 0; i < json.Length; i++)
        {
            bool unicode = json[i] == '\\' && i + 5 < json.Length && json[i + 1] == 'u';
            int unit = unicode ? Hex4(json.Slice(i + 2, 4)) : -1;
            if (unit < 0)
            {
                if (pendingHigh >= 0)
                {
                    return pendingHigh;
                }
                // Any other escape stands for one character: its second byte is no escape of its own ("\\u" is a backslash, then 'u').
                i += json[i] == '\\' ? 1 : 0;
                continue;
            }
            bool low = unit is >= 0xDC00 and <= 0xDFFF;
            if (pendingHigh >= 0 ? !low : low)
            {
                return pendingHigh >= 0 ? pendingHigh : i;
            }
            pendingHigh = pendingHigh < 0 && unit is >= 0xD800 and <= 0xDBFF ? i : -1;
            i += 5;
        }
        return pendingHigh;
    }

    private static int Hex4(ReadOnlySpan<byte> hex)
    {
        int value = 0;
        foreach (byte b in hex)
        {
            int digit = b switch
            {
                >= (byte)'0' and <= (byte)'9' => b - '0',
                >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
                >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
                _ => -1,
            };
            if (digit < 0)
            {
                return -1;
            }
            value = value * 16 + digit;
        }
        return value;
    }

    /// <summary>
    /// <see cref="Check"/> for JSON text, which must also not escape a lone surrogate: an error naming the escape's offset, or null.
    /// </summary>
    public static EdgeAvsrException? CheckJson(ReadOnlySpan<byte> json, string source, string what, string offsetName = "byte")
    {
        if (Check(json, source, what, offsetName) is { } notUtf8)
        {
            return notUtf8;
        }
        int at = FirstLoneSurrogateEscape(json);
        return at < 0 ? null : new EdgeAvsrException($"{source}: {what} escapes a lone UTF-16 surrogate " +
            $"('{System.Text.Encoding.UTF8.GetString(json.Slice(at, 6))}' at {offsetName} {at}), which is not text");
    }

    /// <summary>An error naming <paramref name="source"/>, <paramref name="what"/> and the first invalid byte, or null when the bytes are UTF-8.</summary>
    public static EdgeAvsrException? Check(ReadOnlySpan<byte> bytes, string source, string what, string offsetName = "byte")
    {
        int at = FirstInvalidByte(bytes);
        return at < 0 ? null : new EdgeAvsrException($"{source}: {what} is not UTF-8 (invalid byte 0x{bytes[at]:X2} at {offsetName} {at})");
    }
}
