using System.Text.Json;
using EdgeAvsr.Runtime;

namespace EdgeAvsr.Quantize.Hf;

/// <summary>Reads small JSON files (configs) with errors that name the file and key.</summary>
internal static class JsonFile
{
    public static JsonDocument Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new EdgeAvsrException($"{path}: file not found");
        }
        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new EdgeAvsrException($"{path}: malformed JSON: {e.Message}");
        }
    }

    public static JsonElement? Find(JsonElement obj, string key) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public static int RequireInt(string path, JsonElement obj, string key, int min = 1)
    {
        var v = Find(obj, key) ?? throw new EdgeAvsrException($"{path}: required key '{key}' is missing");
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int x) || x < min)
        {
            throw new EdgeAvsrException($"{path}: '{key}' must be an integer >= {min}, found {v.GetRawText()}");
        }
        return x;
    }

    public static int? OptionalInt(string path, JsonElement obj, string key, int min = 0) =>
        Find(obj, key) is null ? null : RequireInt(path, obj, key, min);

    public static double RequireNumber(string path, JsonElement obj, string key)
    {
        var v = Find(obj, key) ?? throw new EdgeAvsrException($"{path}: required key '{key}' is missing");
        if (v.ValueKind != JsonValueKind.Number || !double.IsFinite(v.GetDouble()))
        {
            throw new EdgeAvsrException($"{path}: '{key}' must be a number, found {v.GetRawText()}");
        }
        return v.GetDouble();
    }

    public static double? OptionalNumber(string path, JsonElement obj, string key) =>
        Find(obj, key) is null ? null : RequireNumber(path, obj, key);

    public static string? OptionalString(string path, JsonElement obj, string key)
    {
        var v = Find(obj, key);
        if (v is null)
        {
            return null;
        }
        return v.Value.ValueKind == JsonValueKind.String ? v.Value.GetString() : throw new EdgeAvsrException($"{path}: '{key}' must be a string, found {v.Value.GetRawText()}");
    }

    public static bool? OptionalBool(string path, JsonElement obj, string key)
    {
        var v = Find(obj, key);
        return v?.ValueKind switch
        {
            null => null,
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new EdgeAvsrException($"{path}: '{key}' must be true or false, found {v.Value.GetRawText()}"),
        };
    }
}
