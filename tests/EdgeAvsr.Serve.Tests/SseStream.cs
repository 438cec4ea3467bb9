using System.Text;

namespace EdgeAvsr.Serve.Tests;

/// <summary>One dispatched server-sent event: its name, data and the id field when the event carried one.</summary>
internal sealed record SseMessage(string Event, string Data, string? Id);

/// <summary>
/// A text/event-stream read line by line as the HTML spec's parser does (fields event, data, id; comments start with a
/// colon; a blank line dispatches), written here independently of the daemon. Comments are counted, not returned.
/// </summary>
internal sealed class SseStream : IDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;

    private SseStream(HttpResponseMessage response, Stream body)
    {
        _response = response;
        _reader = new StreamReader(body, Encoding.UTF8);
    }

    public int Comments { get; private set; }

    public HttpResponseMessage Response => _response;

    public static async Task<SseStream> OpenAsync(HttpClient client, string path, string? lastEventId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        return new SseStream(response, await response.Content.ReadAsStreamAsync());
    }

    /// <summary>The next event (any name); null when the stream ended.</summary>
    public async Task<SseMessage?> NextAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        string? name = null, id = null;
        var data = new StringBuilder();
        bool any = false;
        while (await _reader.ReadLineAsync(cts.Token) is { } line)
        {
            if (line.Length == 0)
            {
                if (any)
                {
                    return new SseMessage(name ?? "message", data.ToString().TrimEnd('\n'), id);
                }
                continue;
            }
            if (line[0] == ':')
            {
                Comments++;
                continue;
            }
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            string field = colon < 0 ? line : line[..colon];
            string value = colon < 0 ? "" : line[(colon + 1)..];
            if (value.StartsWith(' '))
            {
                value = value[1..];
            }
            switch (field)
            {
                case "event":
                    name = value;
                    any = true;
                    break;
                case "data":
                    data.Append(value).Append('\n');
                    any = true;
                    break;
                case "id":
                    id = value;
                    any = true;
                    break;
                default:
                    break; // retry and unknown fields
            }
        }
        return null;
    }

    /// <summary>The next event named <paramref name="name"/>, skipping the others; fails when the stream ends first.</summary>
    public async Task<SseMessage> NextAsync(string name, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            var left = until - DateTime.UtcNow;
            var message = await NextAsync(left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1))
                ?? throw new InvalidOperationException($"the stream ended before a '{name}' event");
            if (message.Event == name)
            {
                return message;
            }
        }
    }

    public void Dispose()
    {
        _reader.Dispose();
        _response.Dispose();
    }
}
