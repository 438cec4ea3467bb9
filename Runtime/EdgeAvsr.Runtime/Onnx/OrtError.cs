using Microsoft.ML.OnnxRuntime;

namespace EdgeAvsr.Runtime.Onnx;

/// <summary>
/// ORT's status code and message as the package's <see cref="OnnxRuntimeException"/> carries them: it keeps the code
/// only as a "[ErrorCode:Name] " prefix of its message, so the two are split apart here, once.
/// </summary>
/// <param name="Code">ORT's code name (InvalidProtobuf, Fail, ...), or "" when the message has no prefix.</param>
/// <param name="Message">ORT's own message, verbatim.</param>
public sealed record OrtError(string Code, string Message)
{
    private const string Prefix = "[ErrorCode:";

    public static OrtError Of(OnnxRuntimeException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return Parse(e.Message);
    }

    internal static OrtError Parse(string text)
    {
        int end = text.IndexOf("] ", StringComparison.Ordinal);
        return text.StartsWith(Prefix, StringComparison.Ordinal) && end > Prefix.Length
            ? new OrtError(text[Prefix.Length..end], text[(end + 2)..])
            : new OrtError("", text);
    }

    /// <summary>
    /// The package names only ORT's status codes up to 12; a higher one (EP, device reset, ...) makes its exception
    /// constructor throw <see cref="KeyNotFoundException"/> instead, and ORT's message is lost on the way.
    /// </summary>
    internal static EdgeAvsrException Unnamed(string source, string what, KeyNotFoundException e) =>
        new($"{source}: ONNX Runtime cannot {what}: it failed with a status code Microsoft.ML.OnnxRuntime cannot name ({e.Message})", e);
}
