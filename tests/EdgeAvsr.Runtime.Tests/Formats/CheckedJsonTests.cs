using System.Text;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Runtime.Tests.Formats;

public class CheckedJsonTests
{
    private const string Doc = """{"a": {"n": 3, "f": 4.0, "x": 2.5, "s": "text", "b": true, "big": 5000000000, "none": null}, "list": [1, 2]}""";

    private static CheckedJson Parse(string text, CheckedJsonLabels? labels = null) =>
        CheckedJson.Parse(Encoding.UTF8.GetBytes(text), "c.json", labels: labels);

    private static string Fails(Action read) => Assert.Throws<EdgeAvsrException>(read).Message;

    [Fact]
    public void TypedGetters_ReadPresentValues()
    {
        using var j = Parse(Doc);
        var a = j.Child(j.Root, "a");
        Assert.Equal(3, j.Int(a, "a.n", min: 1));
        Assert.Equal(4, j.Int(a, "a.f"));
        Assert.Equal(5_000_000_000L, j.Long(a, "a.big"));
        Assert.Equal(2.5, j.Number(a, "a.x"));
        Assert.Equal("text", j.String(a, "a.s"));
        Assert.True(j.Bool(a, "a.b"));
        Assert.Null(j.OptionalInt(a, "a.absent"));
        Assert.Null(j.OptionalString(a, "a.none"));
        Assert.Equal(2, j.Array(j.Root, "list").GetArrayLength());
    }

    [Fact]
    public void TextThatIsNotUtf8_IsOneClearError_NotAnInvalidOperation()
    {
        // A string value with a lone continuation byte: JsonDocument parses it and throws only when the string is read.
        byte[] bytes = [.. "{\"name\": \"ab"u8, 0x80, .. "\"}"u8];
        var e = Assert.Throws<EdgeAvsrException>(() =>
        {
            using var j = CheckedJson.Parse(bytes, "c.json");
            _ = j.String(j.Root, "name");
        });
        Assert.Equal("c.json: the JSON text is not UTF-8 (invalid byte 0x80 at byte 12)", e.Message);
    }

    /// <summary>
    /// A \u escape of half a surrogate pair is valid JSON but no text: JsonDocument parsed it and threw InvalidOperationException
    /// ("Cannot read incomplete UTF-16 JSON text as string") when the string was read, as a manifest's name or a tokenizer's token.
    /// </summary>
    [Theory]
    [InlineData("{\"name\": \"a\\ud83d\"}", "c.json: the JSON text escapes a lone UTF-16 surrogate ('\\ud83d' at byte 11), which is not text")]
    [InlineData("{\"name\": \"\\uDE00a\"}", "c.json: the JSON text escapes a lone UTF-16 surrogate ('\\uDE00' at byte 10), which is not text")]
    [InlineData("{\"name\": \"\\ud83d\\ud83d\\ude00\"}", "c.json: the JSON text escapes a lone UTF-16 surrogate ('\\ud83d' at byte 10), which is not text")]
    [InlineData("{\"\\udbff\": \"x\", \"name\": \"y\"}", "c.json: the JSON text escapes a lone UTF-16 surrogate ('\\udbff' at byte 2), which is not text")]
    public void EscapedLoneSurrogate_IsOneClearError_NotAnInvalidOperation(string json, string expected)
    {
        var e = Assert.Throws<EdgeAvsrException>(() =>
        {
            using var j = CheckedJson.Parse(System.Text.Encoding.UTF8.GetBytes(json), "c.json");
            _ = j.String(j.Root, "name");
        });
        Assert.Equal(expected, e.Message);
    }

    [Theory]
    [InlineData("{\"name\": \"\\ud83d\\ude00\"}", "\U0001F600")]
    [InlineData("{\"name\": \"\\\\ud800\"}", "\\ud800")]
    [InlineData("{\"name\": \"\\u00e9\\n\"}", "\u00e9\n")]
    public void EscapedPairs_AndEscapedBackslashes_AreText(string json, string expected)
    {
        using var j = CheckedJson.Parse(System.Text.Encoding.UTF8.GetBytes(json), "c.json");
        Assert.Equal(expected, j.String(j.Root, "name"));
    }

    [Theory]
    [InlineData("missing", "c.json: 'a.missing' is missing")]
    [InlineData("none", "c.json: 'a.none' is missing")]
    [InlineData("string-as-int", "c.json: a.s is a string (\"text\"), expected a 32-bit integer")]
    [InlineData("fraction-as-int", "c.json: a.x is a number (2.5), expected a 32-bit integer")]
    [InlineData("below-min", "c.json: a.n is a number (3), expected an integer >= 4")]
    [InlineData("out-of-range", "c.json: a.n is a number (3), expected an integer in 0..2")]
    [InlineData("too-big-for-int", "c.json: a.big is a number (5000000000), expected a 32-bit integer")]
    [InlineData("number-as-string", "c.json: a.n is a number (3), expected a string")]
    [InlineData("number-as-bool", "c.json: a.n is a number (3), expected true or false")]
    [InlineData("array-as-object", "c.json: list is array, expected an object")]
    [InlineData("object-as-array", "c.json: a is object, expected an array")]
    public void EachRefusal_IsOneLine_NamingTheFileTheKeyAndWhatWasExpected(string what, string expected)
    {
        using var j = Parse(Doc);
        var a = j.Root.GetProperty("a");
        Action read = what switch
        {
            "missing" => () => j.Int(a, "a.missing"),
            "none" => () => j.String(a, "a.none"),
            "string-as-int" => () => j.Int(a, "a.s"),
            "fraction-as-int" => () => j.OptionalInt(a, "a.x"),
            "below-min" => () => j.Int(a, "a.n", min: 4),
            "out-of-range" => () => j.Int(a, "a.n", min: 0, max: 2),
            "too-big-for-int" => () => j.Int(a, "a.big"),
            "number-as-string" => () => j.String(a, "a.n"),
            "number-as-bool" => () => j.OptionalBool(a, "a.n"),
            "array-as-object" => () => j.Child(j.Root, "list"),
            _ => () => j.Array(j.Root, "a"),
        };
        Assert.Equal(expected, Fails(read));
    }

    [Fact]
    public void Labels_NameTheKeysAsTheFileCallsThem()
    {
        using var j = Parse("""{"rank": "x"}""", new CheckedJsonLabels("training argument ", "; it is never guessed"));
        Assert.Equal("c.json: training argument 'alpha' is missing; it is never guessed", Fails(() => j.Number(j.Root, "alpha")));
        Assert.Equal("c.json: training argument rank is a string (\"x\"), expected an integer >= 1", Fails(() => j.Int(j.Root, "rank", min: 1)));
    }

    [Fact]
    public void Read_NamesAMissingOrMalformedFile_AndLenientAllowsCommentsAndTrailingCommas()
    {
        using var dir = new TempDir();
        Assert.Equal($"{dir.File("nope.json")}: no such config file", Fails(() => CheckedJson.Read(dir.File("nope.json"), what: "config file")));
        File.WriteAllText(dir.File("c.json"), "{\"a\": 1, // note\n}");
        Assert.StartsWith($"{dir.File("c.json")}: not valid JSON (", Fails(() => CheckedJson.Read(dir.File("c.json"))), StringComparison.Ordinal);
        using var j = CheckedJson.Read(dir.File("c.json"), lenient: true);
        Assert.Equal(1, j.Int(j.Root, "a"));
    }
}
