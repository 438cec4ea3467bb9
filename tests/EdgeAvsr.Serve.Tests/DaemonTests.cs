using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace EdgeAvsr.Serve.Tests;

[Collection("daemon")]
public sealed class DaemonTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(20);

    private static string[] Args(TempDir dir, string fifo, params string[] more) =>
        ["--replay", fifo, "--journal", dir.File("journal.jsonl"), .. more];

    private static List<JsonElement> JournalLines(string path) =>
        [.. File.ReadAllLines(path).Select(l => JsonDocument.Parse(l).RootElement).Where(e => e.TryGetProperty("id", out _))];

    private static JsonElement Data(SseMessage m) => JsonDocument.Parse(m.Data).RootElement;

    [Fact]
    public async Task Sigterm_publishes_and_journals_the_final_of_the_utterance_in_flight_then_exits_0()
    {
        using var dir = new TempDir();
        using var fifo = new ReplayFifo(dir.File("captions.fifo"));
        using var daemon = DaemonProcess.Start(DaemonProcess.FreePort(), Args(dir, fifo.Path));
        await daemon.WaitListeningAsync();
        using var client = daemon.Client();
        using var sse = await SseStream.OpenAsync(client, "captions");
        Assert.Equal(HttpStatusCode.OK, sse.Response.StatusCode);
        Assert.Equal("text/event-stream", sse.Response.Content.Headers.ContentType?.MediaType);

        await fifo.WriteAsync(ReplayFifo.Caption(1, false, "hello wor"));
        var partial = await sse.NextAsync("partial", s_wait);
        Assert.Null(partial.Id);
        Assert.Equal("hello wor", Data(partial).GetProperty("text").GetString());
        await fifo.WriteAsync(ReplayFifo.Caption(1, true, "hello world"));
        var final = await sse.NextAsync("final", s_wait);
        Assert.Equal("1", final.Id);
        Assert.Equal("hello world", Data(final).GetProperty("text").GetString());

        await fifo.WriteAsync(ReplayFifo.Caption(2, false, "still speak"));
        Assert.Equal("still speak", Data(await sse.NextAsync("partial", s_wait)).GetProperty("text").GetString());
        var exit = daemon.TerminateAsync();
        var flushed = await sse.NextAsync("final", s_wait);
        Assert.Equal("2", flushed.Id);
        Assert.Equal(2, Data(flushed).GetProperty("utterance").GetInt32());
        Assert.Equal("still speak", Data(flushed).GetProperty("text").GetString());
        Assert.Equal(0, await exit);
        var lines = JournalLines(dir.File("journal.jsonl"));
        Assert.Equal([1L, 2L], lines.Select(l => l.GetProperty("id").GetInt64()));
        Assert.Equal(["hello world", "still speak"], lines.Select(l => l.GetProperty("text").GetString()));
    }

    [Fact]
    public async Task After_kill_9_every_published_final_is_in_the_journal_and_history_once_and_clients_resume()
    {
        using var dir = new TempDir();
        using var fifo = new ReplayFifo(dir.File("captions.fifo"));
        string journal = dir.File("journal.jsonl");
        string[] words = ["one final", "two finals", "three finals"];
        using (var daemon = DaemonProcess.Start(DaemonProcess.FreePort(), Args(dir, fifo.Path)))
        {
            await daemon.WaitListeningAsync();
            using var client = daemon.Client();
            using var sse = await SseStream.OpenAsync(client, "captions");
            for (int i = 0; i < words.Length; i++)
            {
                await fifo.WriteAsync(ReplayFifo.Caption(i + 1, false, words[i][..3]), ReplayFifo.Caption(i + 1, true, words[i]));
                Assert.Equal((i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), (await sse.NextAsync("final", s_wait)).Id);
            }
            await fifo.WriteAsync(ReplayFifo.Caption(4, false, "lost in fli"));
            await sse.NextAsync("partial", s_wait);
            daemon.KillHard();
        }
        fifo.Reopen();
        // What a crash in the middle of an append leaves.
        File.AppendAllText(journal, "{\"id\":4,\"run\":\"x\",\"utt");
        using (var daemon = DaemonProcess.Start(DaemonProcess.FreePort(), Args(dir, fifo.Path)))
        {
            await daemon.WaitListeningAsync();
            Assert.Contains("torn last line", daemon.Log, StringComparison.Ordinal);
            using var history = await daemon.GetJsonAsync("captions/history");
            var captions = history.RootElement.GetProperty("captions").EnumerateArray().ToList();
            Assert.Equal([1L, 2L, 3L], captions.Select(c => c.GetProperty("id").GetInt64()));
            Assert.Equal(words, captions.Select(c => c.GetProperty("text").GetString()));
            Assert.Equal(3, history.RootElement.GetProperty("last_id").GetInt64());

            // A client that had id 1 resumes: 2 and 3 from the journal, then new finals, each once.
            using var client = daemon.Client();
            using var sse = await SseStream.OpenAsync(client, "captions", lastEventId: "1");
            Assert.Equal("2", (await sse.NextAsync("final", s_wait)).Id);
            Assert.Equal("3", (await sse.NextAsync("final", s_wait)).Id);
            await fifo.WriteAsync(ReplayFifo.Caption(1, true, "after restart"));
            var next = await sse.NextAsync("final", s_wait);
            Assert.Equal("4", next.Id);
            Assert.Equal("after restart", Data(next).GetProperty("text").GetString());
            Assert.Equal(0, await daemon.TerminateAsync());
        }
        var lines = JournalLines(journal);
        Assert.Equal([1L, 2L, 3L, 4L], lines.Select(l => l.GetProperty("id").GetInt64()));
        Assert.Equal([.. words, "after restart"], lines.Select(l => l.GetProperty("text").GetString()));
    }

    [Fact]
    public async Task Systemd_hears_ready_once_listening_then_watchdog_pings_at_half_the_interval_then_stopping()
    {
        using var dir = new TempDir();
        using var fifo = new ReplayFifo(dir.File("captions.fifo"));
        string socketPath = dir.File("notify.sock");
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(socketPath));
        var env = new Dictionary<string, string> { ["NOTIFY_SOCKET"] = socketPath, ["WATCHDOG_USEC"] = "400000" };
        using var daemon = DaemonProcess.Start(DaemonProcess.FreePort(), Args(dir, fifo.Path), env);

        var buffer = new byte[4096];
        async Task<(string Text, DateTime At)> ReceiveAsync()
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            int n = await notify.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            return (Encoding.UTF8.GetString(buffer, 0, n), DateTime.UtcNow);
        }
        var (first, ready) = await ReceiveAsync();
        Assert.Equal("READY=1", first);
        // Ready means listening: the port answers at once.
        using (var health = await daemon.GetJsonAsync("health"))
        {
            Assert.Equal("ok", health.RootElement.GetProperty("status").GetString());
        }
        // Pings over 4 s, counted rather than timed one by one: on a loaded machine datagrams queue and arrive in bursts.
        int pings = 0;
        TimeSpan window = TimeSpan.FromSeconds(4);
        while (DateTime.UtcNow - ready < window)
        {
            var (text, _) = await ReceiveAsync();
            Assert.Equal("WATCHDOG=1", text);
            pings++;
        }
        double seconds = (DateTime.UtcNow - ready).TotalSeconds;
        // Half of 400 ms is 200 ms, 5 a second: not the full interval (2.5 a second), nor a flood. The upper bound allows
        // for pings that queued while this process waited for a core after READY.
        Assert.InRange(pings / seconds, 3.5, 8);
        var exit = daemon.TerminateAsync();
        string stopping;
        do
        {
            (stopping, _) = await ReceiveAsync();
        }
        while (stopping == "WATCHDOG=1");
        Assert.Equal("STOPPING=1", stopping);
        Assert.Equal(0, await exit);
    }

    [Fact]
    public async Task Listening_beyond_loopback_without_a_token_refuses_to_start_with_one_line()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("replay.jsonl"), "");
        var (code, _, err) = Tools.Exec("dotnet", DaemonProcess.CliPath, "serve", "--host", "0.0.0.0", "--replay", dir.File("replay.jsonl"),
            "--journal", dir.File("journal.jsonl"), "--port", DaemonProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(2, code);
        string line = Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("edgeavsr: --host 0.0.0.0 listens beyond loopback", line, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("journal.jsonl")));
    }

    [Fact]
    public async Task Beyond_loopback_every_request_needs_the_bearer_token_or_the_login_cookie()
    {
        using var dir = new TempDir();
        using var fifo = new ReplayFifo(dir.File("captions.fifo"));
        const string Token = "s3cret-kiosk-token-0123";
        File.WriteAllText(dir.File("serve.json"), $$"""{"host":"0.0.0.0","token":"{{Token}}"}""");
        using var daemon = DaemonProcess.Start(DaemonProcess.FreePort(), Args(dir, fifo.Path, "--config", dir.File("serve.json")));
        await daemon.WaitListeningAsync();
        using var anonymous = daemon.Client();
        foreach (string path in (string[])["", "captions", "captions/history", "captions.srt", "captions.vtt", "health"])
        {
            using var r = await anonymous.GetAsync(new Uri(path, UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        }
        using (var wrong = daemon.Client(bearer: Token + "x"))
        using (var r = await wrong.GetAsync(new Uri("health", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        }
        using (var api = daemon.Client(bearer: Token))
        using (var r = await api.GetAsync(new Uri("health", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }
        // The page's way in: the login URL once, then a cookie the browser's scripts cannot read.
        var cookies = new CookieContainer();
        using var handler = new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false };
        using var browser = new HttpClient(handler) { BaseAddress = daemon.BaseUri };
        using (var r = await browser.GetAsync(new Uri("login?token=nope", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        }
        using (var r = await browser.GetAsync(new Uri($"login?token={Token}", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.Redirect, r.StatusCode);
            Assert.Equal("/", r.Headers.Location?.OriginalString);
            string setCookie = Assert.Single(r.Headers.GetValues("Set-Cookie"));
            Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(Token, setCookie, StringComparison.Ordinal);
        }
        using (var r = await browser.GetAsync(new Uri("", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Contains("EventSource", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Clients_past_the_limit_get_503_big_requests_413_and_idle_streams_keep_alive_comments()
    {
        using var dir = new TempDir();
        using var fifo = new ReplayFifo(dir.File("captions.fifo"));
        using var daemon = DaemonProcess.Start(DaemonProcess.FreePort(),
            Args(dir, fifo.Path, "--max-clients", "1", "--max-request-bytes", "1024", "--keep-alive-seconds", "0.2"));
        await daemon.WaitListeningAsync();
        using var client = daemon.Client();
        using (var first = await SseStream.OpenAsync(client, "captions"))
        {
            Assert.Equal(HttpStatusCode.OK, first.Response.StatusCode);
            using (var second = await SseStream.OpenAsync(client, "captions"))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, second.Response.StatusCode);
            }
            await first.NextAsync("status", s_wait);
            // Nothing to say for a while: comments keep proxies and the browser from timing the stream out.
            await Task.Delay(1000);
            await fifo.WriteAsync(ReplayFifo.Caption(1, true, "after the quiet"));
            await first.NextAsync("final", s_wait);
            Assert.InRange(first.Comments, 2, 20);
            using var health = await daemon.GetJsonAsync("health");
            var clients = health.RootElement.GetProperty("clients");
            Assert.Equal(1, clients.GetProperty("connected").GetInt32());
            Assert.Equal(1, clients.GetProperty("rejected").GetInt64());
        }
        // The slot is given back when the client goes.
        await WaitUntilAsync(async () =>
        {
            using var h = await daemon.GetJsonAsync("health");
            return h.RootElement.GetProperty("clients").GetProperty("connected").GetInt32() == 0;
        });
        using (var again = await SseStream.OpenAsync(client, "captions"))
        {
            Assert.Equal(HttpStatusCode.OK, again.Response.StatusCode);
        }
        // Over a raw socket: the daemon answers 413 and closes without reading the body, which HttpClient reports as an error.
        Assert.Equal("HTTP/1.1 413 Payload Too Large", await StatusLineAsync(daemon.Port, "POST /captions HTTP/1.1", 4096));
        using var small = new ByteArrayContent(new byte[16]);
        using (var r = await client.PostAsync(new Uri("captions", UriKind.Relative), small))
        {
            Assert.Equal(HttpStatusCode.MethodNotAllowed, r.StatusCode);
        }
    }

    [Fact]
    public async Task Health_reports_the_producer_devices_task_journal_clients_and_counts()
    {
        using var dir = new TempDir();
        using var fifo = new ReplayFifo(dir.File("captions.fifo"));
        using var daemon = DaemonProcess.Start(DaemonProcess.FreePort(), Args(dir, fifo.Path));
        await daemon.WaitListeningAsync();
        using var client = daemon.Client();
        using var sse = await SseStream.OpenAsync(client, "captions");
        await fifo.WriteAsync("{\"live\":[\"audio\"]}", ReplayFifo.Caption(1, false, "a", task: "asr"), ReplayFifo.Caption(1, true, "ab", task: "asr"),
            "not json at all");
        await sse.NextAsync("final", s_wait);
        using var health = await daemon.GetJsonAsync("health");
        var root = health.RootElement;
        Assert.Equal("ok", root.GetProperty("status").GetString());
        var producer = root.GetProperty("producer");
        Assert.Equal("replay", producer.GetProperty("producer").GetString());
        Assert.Equal("asr", producer.GetProperty("task").GetString());
        Assert.Equal(["audio"], producer.GetProperty("live_modalities").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(fifo.Path, producer.GetProperty("devices")[0].GetProperty("detail").GetString()!.Split(' ')[0]);
        Assert.True(producer.TryGetProperty("stages", out _) && producer.TryGetProperty("queues", out _) && producer.TryGetProperty("partials_dropped", out _));
        Assert.Equal(1, root.GetProperty("journal").GetProperty("last_id").GetInt64());
        Assert.Equal(1, root.GetProperty("clients").GetProperty("connected").GetInt32());
        Assert.Equal(1, root.GetProperty("published").GetProperty("partials").GetInt64());
        Assert.Equal(1, root.GetProperty("published").GetProperty("finals").GetInt64());
        await WaitUntilAsync(() => Task.FromResult(daemon.Log.Contains("line 4: skipped", StringComparison.Ordinal)));
        string srt = await client.GetStringAsync(new Uri("captions.srt", UriKind.Relative));
        Assert.Equal("1\n00:00:00,000 --> 00:00:00,000\nab\n\n", srt);
    }

    private static async Task<string> StatusLineAsync(int port, string requestLine, int bodyBytes)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"{requestLine}\r\nHost: 127.0.0.1\r\nContent-Length: {bodyBytes}\r\n\r\n"));
        try
        {
            await stream.WriteAsync(new byte[bodyBytes]);
        }
        catch (IOException)
        {
            // the daemon may close before the whole body is sent
        }
        using var reader = new StreamReader(stream, Encoding.ASCII);
        return await reader.ReadLineAsync() ?? "";
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var until = DateTime.UtcNow + s_wait;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < until, "condition not met in time");
            await Task.Delay(50);
        }
    }
}
