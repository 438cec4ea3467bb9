using System.Globalization;
using System.Text.Json;

namespace EdgeAvsr.Runtime.Formats;

/// <summary>
/// A parsed JSON document read through typed getters: a missing key, a wrong type or a value out of range is an
/// <see cref="EdgeAvsrException"/> of one line naming the source (file), the key path and what was expected.
/// Paths are dotted (<c>projector.top_k</c>, <c>files[2].sha256</c>); a getter looks up the last segment in the
/// element it is given. No reflection: NativeAOT-safe.
/// </summary>
public sealed class CheckedJson : IDisposable
{
    /// <summary>The largest JSON file read (256 MiB: a tokenizer.json of a 128k vocabulary is under 20 MB).</summary>
    public const long MaxBytes = 256L << 20;

    private readonly JsonDocument _document;

    private CheckedJson(JsonDocument document, string source, CheckedJsonLabels? labels)
    {
        _document = document;
        Source = source;
        KeyLabel = labels?.KeyLabel ?? "";
        MissingHint = labels?.MissingHint ?? "";
    }

    /// <summary>The file (or other source) the errors name.</summary>
    public string Source { get; }

    public JsonElement Root => _document.RootElement;

    /// <summary>Words before a key path in errors (e.g. "training argument "); empty by default.</summary>
    public string KeyLabel { get; }

    /// <summary>Appended to the message for a missing key (e.g. "; it is never guessed").</summary>
    public string MissingHint { get; }

    /// <summary>
    /// Reads and parses <paramref name="path"/>; <paramref name="lenient"/> allows comments and trailing commas;
    /// <paramref name="what"/> names the file in the error when it is absent ("no such training-config file").
    /// </summary>
    public static CheckedJson Read(string path, bool lenient = false, string what = "file", CheckedJsonLabels? labels = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new EdgeAvsrException($"{path}: no such {what}");
        }
        byte[] bytes;
        try
        {
            long length = new FileInfo(path).Length;
            if (length > MaxBytes)
            {
                throw new EdgeAvsrException($"{path}: {length} bytes, more than the {MaxBytes} bytes a JSON file may have here");
            }
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EdgeAvsrException($"{path}: cannot read: {e.Message}");
        }
        return Parse(bytes, path, lenient, labels);
    }

    /// <summary>Parses UTF-8 JSON that came from <paramref name="source"/> (named in errors).</summary>
    public static CheckedJson Parse(ReadOnlyMemory<byte> utf8, string source, bool lenient = false, CheckedJsonLabels? labels = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        var options = lenient ? new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip } : default;
        // JsonDocument checks a string's UTF-8 (and its \u escapes) only when it is read, and then throws InvalidOperationException.
        if (Utf8Check.CheckJson(utf8.Span, source, "the JSON text") is { } notUtf8)
        {
            throw notUtf8;
        }
        try
        {
            return new CheckedJson(JsonDocument.Parse(utf8, options), source, labels);
        }
        catch (JsonException e)
        {
            throw new EdgeAvsrException($"{source}: not valid JSON ({e.Message})");
        }
    }

    public void Dispose() => _document.Dispose();

    /// <summary><paramref name="e"/> itself when it is an object.</summary>
    public JsonElement Object(JsonElement e, string path) => e.ValueKind == JsonValueKind.Object ? e : throw Expected(path, e, "an object");

    /// <summary>The object under the key <paramref name="path"/> ends with.</summary>
    public JsonElement Child(JsonElement parent, string path) => Object(Get(parent, path), path);

    public JsonElement Array(JsonElement parent, string path)
    {
        var e = Get(parent, path);
        return e.ValueKind == JsonValueKind.Array ? e : throw Expected(path, e, "an array");
    }

    /// <summary>The value under <paramref name="key"/>, or null when it is absent or JSON null (or the parent is no object).</summary>
    public static JsonElement? Find(JsonElement parent, string key) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public string String(JsonElement parent, string path) => StringValue(Get(parent, path), path);

    public string StringValue(JsonElement e, string path) => e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Expected(path, e, "a string");

    public string? OptionalString(JsonElement parent, string path) => Find(parent, Last(path)) is { } e ? StringValue(e, path) : null;

    public bool Bool(JsonElement parent, string path) => BoolValue(Get(parent, path), path);

    public bool? OptionalBool(JsonElement parent, string path) => Find(parent, Last(path)) is { } e ? BoolValue(e, path) : null;

    /// <summary>A finite number.</summary>
    public double Number(JsonElement parent, string path) => NumberValue(Get(parent, path), path);

    public double? OptionalNumber(JsonElement parent, string path) => Find(parent, Last(path)) is { } e ? NumberValue(e, path) : null;

    /// <summary>An integer in [<paramref name="min"/>, <paramref name="max"/>]; an integral number such as <c>4.0</c> counts.</summary>
    public long Long(JsonElement parent, string path, long min = long.MinValue, long max = long.MaxValue) =>
        LongValue(Get(parent, path), path, min, max);

    public int Int(JsonElement parent, string path, int min = int.MinValue, int max = int.MaxValue) => (int)Long(parent, path, min, max);

    public int IntValue(JsonElement e, string path, int min = int.MinValue, int max = int.MaxValue) => (int)LongValue(e, path, min, max);

    public int? OptionalInt(JsonElement parent, string path, int min = int.MinValue, int max = int.MaxValue) =>
        Find(parent, Last(path)) is { } e ? IntValue(e, path, min, max) : null;

    private JsonElement Get(JsonElement parent, string path) => Find(parent, Last(path)) is { } e
        ? e
        : throw new EdgeAvsrException($"{Source}: {KeyLabel}'{path}' is missing{MissingHint}");

    private bool BoolValue(JsonElement e, string path) => e.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw Expected(path, e, "true or false"),
    };

    private double NumberValue(JsonElement e, string path) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out double v) && double.IsFinite(v) ? v : throw Expected(path, e, "a number");

    private long LongValue(JsonElement e, string path, long min, long max)
    {
        var c = CultureInfo.InvariantCulture;
        string range = (min <= int.MinValue, max >= int.MaxValue) switch
        {
            (true, true) => min == int.MinValue && max == int.MaxValue ? "a 32-bit integer" : "an integer",
            (false, true) => string.Create(c, $"an integer >= {min}"),
            (true, false) => string.Create(c, $"an integer <= {max}"),
            _ => string.Create(c, $"an integer in {min}..{max}"),
        };
        if (e.ValueKind != JsonValueKind.Number)
        {
            throw Expected(path, e, range);
        }
        if (!e.TryGetInt64(out long v))
        {
            // 4.0 or 1e3: integral values some tools write as floating point.
            bool integral = e.TryGetDouble(out double d) && d == Math.Floor(d) && d >= long.MinValue && d < long.MaxValue;
            v = integral ? (long)d : throw Expected(path, e, range);
        }
        return v >= min && v <= max ? v : throw Expected(path, e, range);
    }

    private EdgeAvsrException Expected(string path, JsonElement e, string what) => new($"{Source}: {KeyLabel}{path} is {Kind(e)}, expected {what}");

    private static string Last(string path) => path[(path.LastIndexOf('.') + 1)..];

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Number => "a number (" + e.GetRawText() + ")",
        JsonValueKind.String => "a string (\"" + e.GetString() + "\")",
        JsonValueKind.Null => "null",
        _ => e.ValueKind.ToString().ToLowerInvariant(),
    };
}
