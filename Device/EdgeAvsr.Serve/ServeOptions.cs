using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using EdgeAvsr.Runtime;

namespace EdgeAvsr.Serve;

/// <summary>
/// The daemon's settings: a JSON file (snake_case keys, e.g. <c>max_clients</c>) that a front end overrides value by
/// value. Errors name the key as a parameter (<c>maxClients</c>), so a front end can call it by its flag.
/// Setters rather than init: the JSON source generator sets every init-only property, absent keys to default(T),
/// which would erase the defaults written here.
/// </summary>
public sealed record ServeOptions
{
    /// <summary>Address to listen on; anything but loopback needs <see cref="Token"/>.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>TCP port; 0 lets the system pick one (logged at start).</summary>
    public int Port { get; set; } = 8080;

    /// <summary>Shared secret for API clients (bearer) and the page (login URL, then a cookie); required beyond loopback.</summary>
    public string? Token { get; set; }

    /// <summary>The caption journal (JSON lines); the only file the daemon writes.</summary>
    public string Journal { get; set; } = "edgeavsr-captions.jsonl";

    /// <summary>Finals older than this many hours are dropped from the journal; 0 keeps them.</summary>
    public double RetentionMaxAgeHours { get; set; }

    /// <summary>At most this many finals are kept (the oldest go first).</summary>
    public int RetentionMaxLines { get; set; } = 100_000;

    /// <summary>Concurrent /captions (SSE) clients; one more gets 503.</summary>
    public int MaxClients { get; set; } = 32;

    /// <summary>Largest request body accepted (413 past it); the API takes no bodies, so this stays small.</summary>
    public long MaxRequestBytes { get; set; } = 16 * 1024;

    /// <summary>Seconds between SSE keep-alive comments.</summary>
    public double KeepAliveSeconds { get; set; } = 15;

    /// <summary>Most finals /captions/history returns and a new SSE client is sent.</summary>
    public int HistoryLimit { get; set; } = 500;

    /// <summary>Seconds a stop (SIGTERM) waits for the producer to flush the utterance in flight.</summary>
    public double DrainSeconds { get; set; } = 20;

    /// <summary><c>replay</c> (a JSON-lines captions file or FIFO) or <c>live</c> (devices through the pipeline).</summary>
    public string Producer { get; set; } = "replay";

    /// <summary>The replay producer's captions file or FIFO.</summary>
    public string? Replay { get; set; }

    /// <summary>The model pack folder (live producer).</summary>
    public string? Model { get; set; }

    /// <summary>Preferred task for the live producer: <c>auto</c>, <c>asr</c>, <c>vsr</c> or <c>avsr</c>.</summary>
    public string? Task { get; set; }

    /// <summary>Device settings file (docs/devices.md): camera, microphone and devices sections for the live producer; gpio and lcd
    /// (the button, LEDs and LCD) for either producer.</summary>
    public string? Devices { get; set; }

    /// <summary>Reads a settings file; an unknown key, a wrong type or bad JSON is one line naming the file.</summary>
    public static ServeOptions Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new EdgeAvsrException($"{path}: no such config file");
        }
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(path), ServeJsonContext.Default.ServeOptions)
                ?? throw new EdgeAvsrException($"{path}: the config is null; expected a JSON object");
        }
        catch (JsonException e)
        {
            string where = e.Path is { Length: > 1 } p ? $" at {p}" : "";
            throw new EdgeAvsrException($"{path}: not a serve config{where}: {e.Message.Split(" Path:", 2)[0]}");
        }
    }

    /// <summary>The address to bind; an unparsable host is an error naming <c>host</c>.</summary>
    [JsonIgnore]
    public IPAddress Address => Host switch
    {
        "localhost" => IPAddress.Loopback,
        _ when IPAddress.TryParse(Host, out var a) => a,
        _ => throw new EdgeAvsrException(nameof(Host).ToLowerInvariant(), n => $"{n} '{Host}' is not an IP address (e.g. 127.0.0.1 or 0.0.0.0)"),
    };

    /// <summary>True when the daemon listens only on the machine itself.</summary>
    [JsonIgnore]
    public bool LoopbackOnly => IPAddress.IsLoopback(Address);

    /// <summary>Checks every value; the first bad one is an <see cref="EdgeAvsrException"/> naming its parameter.</summary>
    public ServeOptions Validate()
    {
        if (!LoopbackOnly && string.IsNullOrEmpty(Token))
        {
            throw new EdgeAvsrException("host", n =>
                $"{n} {Host} listens beyond loopback: set \"token\" in the config file (clients then need it) or listen on 127.0.0.1");
        }
        if (Token is { } t && (t.Length < 16 || t.Any(c => c <= ' ' || c > '~')))
        {
            throw new EdgeAvsrException("token: expected at least 16 printable ASCII characters without spaces");
        }
        Check(Port is >= 0 and <= 65535, "port", "between 0 and 65535");
        Check(RetentionMaxAgeHours >= 0 && double.IsFinite(RetentionMaxAgeHours), "retentionMaxAgeHours", "0 (keep) or more");
        Check(RetentionMaxLines >= 1, "retentionMaxLines", "at least 1");
        Check(MaxClients >= 1, "maxClients", "at least 1");
        Check(MaxRequestBytes >= 0, "maxRequestBytes", "0 or more");
        Check(KeepAliveSeconds > 0 && double.IsFinite(KeepAliveSeconds), "keepAliveSeconds", "more than 0");
        Check(HistoryLimit >= 1, "historyLimit", "at least 1");
        Check(DrainSeconds >= 0 && double.IsFinite(DrainSeconds), "drainSeconds", "0 or more");
        Check(!string.IsNullOrWhiteSpace(Journal), "journal", "a file path");
        if (Producer == "replay" && string.IsNullOrEmpty(Replay))
        {
            throw new EdgeAvsrException("replay", n => $"the replay producer needs a captions file or FIFO: give {n} PATH");
        }
        if (Producer == "live" && (string.IsNullOrEmpty(Model) || string.IsNullOrEmpty(Devices)))
        {
            throw new EdgeAvsrException(string.IsNullOrEmpty(Model) ? "model" : "devices", n => $"the live producer needs {n} PATH");
        }
        if (Producer is not ("replay" or "live"))
        {
            throw new EdgeAvsrException("producer", n => $"{n} '{Producer}' is not replay or live");
        }
        return this;
    }

    private static void Check(bool ok, string parameter, string expected)
    {
        if (!ok)
        {
            throw new EdgeAvsrException(parameter, n => $"{n}: expected {expected}");
        }
    }
}
