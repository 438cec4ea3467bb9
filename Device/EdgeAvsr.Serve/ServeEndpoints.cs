using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EdgeAvsr.Device.Gpio;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Primitives;

namespace EdgeAvsr.Serve;

/// <summary>
/// The HTTP surface: the kiosk page, SSE captions, history, SubRip/WebVTT, health, and the token check in front of
/// them all (when a token is configured): <c>Authorization: Bearer</c> for API clients, a cookie set by
/// <c>/login?token=</c> for the page.
/// </summary>
internal sealed class ServeEndpoints(
    CaptionHub hub, ServeOptions options, CaptionService captions, ICaptionProducer producer, IHostApplicationLifetime lifetime, GpioPanel? panel = null)
{
    public const string SessionCookie = "edgeavsr_session";
    private static readonly byte[] s_page = ReadPage();
    private readonly DateTimeOffset _started = DateTimeOffset.UtcNow;
    private readonly byte[]? _token = options.Token is { } t ? Encoding.UTF8.GetBytes(t) : null;
    private readonly string? _session = options.Token is { } t ? SessionValue(t) : null;

    public void Map(WebApplication app)
    {
        app.Use(GuardAsync);
        app.MapGet("/", (HttpContext c) => PageAsync(c));
        app.MapGet("/login", (HttpContext c) => Login(c));
        app.MapGet("/captions", (HttpContext c) => CaptionsAsync(c));
        app.MapGet("/captions/history", (HttpContext c) => HistoryAsync(c));
        app.MapGet("/captions.srt", (HttpContext c) => CuesAsync(c, TranscriptFormat.Srt));
        app.MapGet("/captions.vtt", (HttpContext c) => CuesAsync(c, TranscriptFormat.Vtt));
        app.MapGet("/health", (HttpContext c) => HealthAsync(c));
    }

    /// <summary>The cookie value a valid login gets: derived from the token, so the token itself never sits in a cookie.</summary>
    public static string SessionValue(string token) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(token), "edgeavsr kiosk session"u8));

    private async Task GuardAsync(HttpContext context, RequestDelegate next)
    {
        if (context.Request.ContentLength > options.MaxRequestBytes)
        {
            context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            await context.Response.WriteAsync($"request body over {options.MaxRequestBytes} bytes\n").ConfigureAwait(false);
            return;
        }
        if (_token is null || context.Request.Path == "/login" || Authorized(context.Request))
        {
            await next(context).ConfigureAwait(false);
            return;
        }
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = "Bearer";
        await context.Response.WriteAsync("token required: send Authorization: Bearer TOKEN, or open /login?token=TOKEN once in the browser\n")
            .ConfigureAwait(false);
    }

    private bool Authorized(HttpRequest request)
    {
        string? header = request.Headers.Authorization;
        if (header is not null && header.StartsWith("Bearer ", StringComparison.Ordinal) && Matches(header["Bearer ".Length..]))
        {
            return true;
        }
        return request.Cookies.TryGetValue(SessionCookie, out string? cookie)
            && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(cookie), Encoding.ASCII.GetBytes(_session!));
    }

    private bool Matches(string given) => CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given.Trim()), _token);

    private IResult Login(HttpContext context)
    {
        if (_token is null)
        {
            return Results.Redirect("/");
        }
        if (context.Request.Query["token"] is not [{ } given] || !Matches(given))
        {
            return Results.Text("wrong or missing token\n", statusCode: StatusCodes.Status401Unauthorized);
        }
        context.Response.Cookies.Append(SessionCookie, _session!, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Secure = context.Request.IsHttps,
            Path = "/",
            MaxAge = TimeSpan.FromDays(365),
        });
        return Results.Redirect("/", permanent: false);
    }

    private static async Task PageAsync(HttpContext context)
    {
        context.Response.ContentType = "text/html; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        // Everything the page needs is inline; it talks only to this daemon.
        context.Response.Headers.ContentSecurityPolicy =
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:";
        await context.Response.Body.WriteAsync(s_page).ConfigureAwait(false);
    }

    private async Task CaptionsAsync(HttpContext context)
    {
        if (!hub.TryAddClient(options.MaxClients))
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = "5";
            await context.Response.WriteAsync($"too many caption clients (at most {options.MaxClients})\n").ConfigureAwait(false);
            return;
        }
        var events = hub.Subscribe();
        try
        {
            await StreamAsync(context, events).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
        }
        catch (IOException) when (context.RequestAborted.IsCancellationRequested)
        {
        }
        finally
        {
            hub.Unsubscribe(events);
            hub.RemoveClient();
        }
    }

    // Subscribed before the journal is read, so nothing falls between the two; finals already sent are skipped by id.
    private async Task StreamAsync(HttpContext context, System.Threading.Channels.ChannelReader<SseEvent> events)
    {
        var response = context.Response;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        var aborted = context.RequestAborted;
        long sent = ResumeFrom(context.Request);
        var buffer = new StringBuilder("retry: 1000\n\n");
        if (hub.Status is { } status)
        {
            Append(buffer, status);
        }
        if (sent >= 0)
        {
            foreach (var record in hub.Journal.After(sent, options.HistoryLimit))
            {
                Append(buffer, CaptionHub.Event(record));
                sent = record.Id!.Value;
            }
        }
        if (hub.InFlight is { } partial)
        {
            Append(buffer, partial);
        }
        await Flush(response, buffer, aborted).ConfigureAwait(false);
        var keepAlive = TimeSpan.FromSeconds(options.KeepAliveSeconds);
        while (true)
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(aborted);
            wait.CancelAfter(keepAlive);
            bool more;
            try
            {
                more = await events.WaitToReadAsync(wait.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
            {
                buffer.Append(": keep-alive\n\n");
                await Flush(response, buffer, aborted).ConfigureAwait(false);
                continue;
            }
            if (!more)
            {
                return; // drained, or this client fell behind: it reconnects and resumes from the journal
            }
            while (events.TryRead(out var e))
            {
                if (e.Id is { } id)
                {
                    if (id <= sent)
                    {
                        continue;
                    }
                    sent = id;
                }
                Append(buffer, e);
            }
            await Flush(response, buffer, aborted).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The last final id the client has: Last-Event-ID (a reconnecting EventSource), else <c>?after=</c> (a page's first
    /// connection; 0 asks for the history); -1 means live events only.
    /// </summary>
    private static long ResumeFrom(HttpRequest request)
    {
        foreach (StringValues value in (ReadOnlySpan<StringValues>)[request.Headers["Last-Event-ID"], request.Query["after"]])
        {
            if (value is [{ } text] && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long id))
            {
                return id;
            }
        }
        return -1;
    }

    private static void Append(StringBuilder buffer, SseEvent e)
    {
        if (e.Id is { } id)
        {
            buffer.Append("id: ").Append(id.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        // JSON from the serializer has no raw line breaks, so one data line carries it.
        buffer.Append("event: ").Append(e.Name).Append("\ndata: ").Append(e.Data).Append("\n\n");
    }

    private static async Task Flush(HttpResponse response, StringBuilder buffer, CancellationToken aborted)
    {
        await response.WriteAsync(buffer.ToString(), aborted).ConfigureAwait(false);
        await response.Body.FlushAsync(aborted).ConfigureAwait(false);
        buffer.Clear();
    }

    private async Task HistoryAsync(HttpContext context)
    {
        long after = long.TryParse(context.Request.Query["after"], NumberStyles.None, CultureInfo.InvariantCulture, out long a) ? a : 0;
        int limit = int.TryParse(context.Request.Query["limit"], NumberStyles.None, CultureInfo.InvariantCulture, out int l)
            ? Math.Clamp(l, 1, options.HistoryLimit) : options.HistoryLimit;
        var history = new HistoryResponse(hub.Run, hub.Journal.LastId, hub.Journal.After(after, limit));
        context.Response.ContentType = "application/json; charset=utf-8";
        await JsonSerializer.SerializeAsync(context.Response.Body, history, ServeJsonContext.Default.HistoryResponse, context.RequestAborted)
            .ConfigureAwait(false);
    }

    private async Task CuesAsync(HttpContext context, TranscriptFormat format)
    {
        var finals = hub.Journal.After(0, int.MaxValue);
        string text = TranscriptWriter.Write(CueTranscript(finals), format);
        context.Response.ContentType = format == TranscriptFormat.Srt ? "application/x-subrip; charset=utf-8" : "text/vtt; charset=utf-8";
        await context.Response.WriteAsync(text, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// The journal as a transcript for <see cref="TranscriptWriter"/>: one timeline across runs (each run's stream time
    /// placed at its wall-clock start, counted from the first final kept), and text that cannot break a cue.
    /// </summary>
    internal static Transcript CueTranscript(IReadOnlyList<CaptionRecord> finals)
    {
        var runStarts = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        foreach (var f in finals)
        {
            runStarts.TryAdd(f.Run, f.Time - TimeSpan.FromSeconds(f.End));
        }
        var origin = runStarts.Count == 0 ? DateTimeOffset.UnixEpoch : runStarts.Values.Min();
        var segments = new List<Caption>(finals.Count);
        foreach (var f in finals)
        {
            double offset = (runStarts[f.Run] - origin).TotalSeconds;
            segments.Add(new Caption
            {
                Utterance = f.Utterance,
                IsFinal = true,
                Task = EnumText<AvsrTask>.TryParse(f.Task, out var task) ? task : AvsrTask.Avsr,
                Start = offset + f.Start,
                End = offset + f.End,
                DecidedAt = offset + f.End,
                Text = CueText(f.Text),
                Tokens = [],
                AverageLogProbability = 0,
                Stop = StopReason.EndOfGeneration,
                AudioSamples = (0, 0),
                VideoFrames = (0, 0),
                Timings = StageTimings.Zero,
            });
        }
        return new Transcript
        {
            Model = "",
            Task = AvsrTask.Avsr,
            TaskReason = "",
            Media = "",
            DurationSeconds = segments.Count == 0 ? 0 : segments.Max(s => s.End),
            Segments = segments,
            MediaDecode = TimeSpan.Zero,
            Load = TimeSpan.Zero,
            Stages = StageTimings.Zero,
            Processing = TimeSpan.Zero,
            PeakMemoryBytes = 0,
        };
    }

    /// <summary>
    /// One line of cue text: control characters (line breaks included) become spaces, and <c>--></c> cannot pose as a
    /// timing line (<see cref="TranscriptWriter"/> escapes WebVTT's markup characters).
    /// </summary>
    internal static string CueText(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            sb.Append(char.IsControl(c) || c is '\u2028' or '\u2029' ? ' ' : c);
        }
        string line = string.Join(' ', sb.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries));
        while (line.Contains("-->", StringComparison.Ordinal))
        {
            line = line.Replace("-->", "->", StringComparison.Ordinal);
        }
        return line;
    }

    private async Task HealthAsync(HttpContext context)
    {
        var h = producer.Health;
        string status = lifetime.ApplicationStopping.IsCancellationRequested ? "stopping"
            : h.State == "faulted" || captions.LastFault is not null && h.State != "listening" || panel?.Problems.Count > 0 ? "degraded" : "ok";
        var health = new HealthResponse(
            status, hub.Run, Math.Round((DateTimeOffset.UtcNow - _started).TotalSeconds, 1), h, captions.ProducerRestarts, captions.LastFault,
            new JournalHealth(hub.Journal.Path, hub.Journal.LastId, hub.Journal.Count),
            new ClientHealth(hub.Clients, options.MaxClients, hub.Rejected, hub.Lagged),
            new PublishedCounts(hub.Partials, hub.Finals), panel?.Status);
        context.Response.ContentType = "application/json; charset=utf-8";
        await JsonSerializer.SerializeAsync(context.Response.Body, health, ServeJsonContext.Default.HealthResponse, context.RequestAborted)
            .ConfigureAwait(false);
    }

    private static byte[] ReadPage()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("EdgeAvsr.Serve.Kiosk.index.html")
            ?? throw new InvalidOperationException("the kiosk page is not embedded in EdgeAvsr.Serve");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
