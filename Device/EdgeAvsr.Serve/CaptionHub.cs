using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Pipeline;

namespace EdgeAvsr.Serve;

/// <summary>One server-sent event, serialized once for every client: <c>event:</c> name, JSON data, and the journal id of a final.</summary>
internal sealed record SseEvent(string Name, string Data, long? Id);

/// <summary>What the page shows besides captions: which run, whether it listens, the task and the live modalities.</summary>
internal sealed record StatusEvent(string Run, string Producer, string State, bool Listening, string? Task, string? TaskReason, IReadOnlyList<string> Live);

/// <summary>
/// Publishes captions: a final is journaled (fsync) before any client sees it, then every subscriber gets the event.
/// A subscriber that falls behind by more than its queue is cut off (it resumes from the journal with Last-Event-ID)
/// instead of slowing the others or the producer.
/// </summary>
internal sealed class CaptionHub
{
    /// <summary>Events a client may lag behind before it is cut off.</summary>
    public const int ClientQueue = 256;

    private readonly Lock _lock = new();
    private readonly List<Channel<SseEvent>> _subscribers = [];
    private readonly CaptionJournal _journal;
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CaptionRecord? _inFlight, _lastFinal;
    private long _inFlightAt;
    private SseEvent? _status;
    private int _clients;
    private long _partials, _finals, _lagged, _rejected;

    public CaptionHub(CaptionJournal journal, string run)
    {
        _journal = journal;
        Run = run;
        // A restarted box shows the caption it showed before.
        _lastFinal = journal.After(0, 1).FirstOrDefault();
    }

    /// <summary>This process's run id (its start time), so a page tells two runs' utterance numbers apart.</summary>
    public string Run { get; }

    public CaptionJournal Journal => _journal;

    /// <summary>Done once the producer has drained: open streams end after this.</summary>
    public Task Completed => _completed.Task;

    public int Clients => Volatile.Read(ref _clients);

    public long Partials => Interlocked.Read(ref _partials);

    public long Finals => Interlocked.Read(ref _finals);

    /// <summary>Clients cut off because they fell behind.</summary>
    public long Lagged => Interlocked.Read(ref _lagged);

    /// <summary>Clients refused (503) past the limit.</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>The newest partial of the utterance in flight, for a client that connects mid-utterance.</summary>
    public SseEvent? InFlight
    {
        get
        {
            lock (_lock)
            {
                return _inFlight is { } p ? Event(p) : null;
            }
        }
    }

    /// <summary>The newest final (from the journal at start), for the LCD.</summary>
    public CaptionRecord? LastFinal
    {
        get
        {
            lock (_lock)
            {
                return _lastFinal;
            }
        }
    }

    /// <summary>How long ago the partial of the utterance in flight was published; null when none is in flight.</summary>
    public TimeSpan? InFlightAge
    {
        get
        {
            lock (_lock)
            {
                return _inFlight is null ? null : Stopwatch.GetElapsedTime(_inFlightAt);
            }
        }
    }

    public SseEvent? Status
    {
        get
        {
            lock (_lock)
            {
                return _status;
            }
        }
    }

    /// <summary>Takes a client slot; false past <paramref name="max"/> (counted as rejected).</summary>
    public bool TryAddClient(int max)
    {
        if (Interlocked.Increment(ref _clients) <= max)
        {
            return true;
        }
        Interlocked.Decrement(ref _clients);
        Interlocked.Increment(ref _rejected);
        return false;
    }

    public void RemoveClient() => Interlocked.Decrement(ref _clients);

    /// <summary>A queue of every event from now on; complete once the hub is, or when the client lags.</summary>
    public ChannelReader<SseEvent> Subscribe()
    {
        var channel = Channel.CreateBounded<SseEvent>(new BoundedChannelOptions(ClientQueue) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        lock (_lock)
        {
            if (_completed.Task.IsCompleted)
            {
                channel.Writer.TryComplete();
            }
            else
            {
                _subscribers.Add(channel);
            }
        }
        return channel.Reader;
    }

    public void Unsubscribe(ChannelReader<SseEvent> reader)
    {
        lock (_lock)
        {
            _subscribers.RemoveAll(c => c.Reader == reader);
        }
    }

    /// <summary>Journals a final (its id is the journal's sequence number), then sends the caption to every client.</summary>
    public CaptionRecord Publish(Caption caption)
    {
        ArgumentNullException.ThrowIfNull(caption);
        var record = new CaptionRecord
        {
            Run = Run,
            Utterance = caption.Utterance,
            Final = caption.IsFinal,
            Task = EnumText<AvsrTask>.ToText(caption.Task),
            Start = Math.Round(caption.Start, 3),
            End = Math.Round(caption.End, 3),
            Text = caption.Text,
            Time = DateTimeOffset.UtcNow,
        };
        if (caption.IsFinal)
        {
            record = _journal.Append(record);
            Interlocked.Increment(ref _finals);
        }
        else
        {
            Interlocked.Increment(ref _partials);
        }
        lock (_lock)
        {
            _inFlight = caption.IsFinal ? null : record;
            _inFlightAt = Stopwatch.GetTimestamp();
            _lastFinal = caption.IsFinal ? record : _lastFinal;
            Broadcast(Event(record));
        }
        return record;
    }

    public void PublishStatus(StatusEvent status)
    {
        var e = new SseEvent("status", JsonSerializer.Serialize(status, ServeJsonContext.Default.StatusEvent), null);
        lock (_lock)
        {
            if (_status?.Data == e.Data)
            {
                return;
            }
            _status = e;
            Broadcast(e);
        }
    }

    /// <summary>No more events: every stream ends once it has sent what it holds.</summary>
    public void Complete()
    {
        lock (_lock)
        {
            foreach (var s in _subscribers)
            {
                s.Writer.TryComplete();
            }
            _subscribers.Clear();
            _completed.TrySetResult();
        }
    }

    public static SseEvent Event(CaptionRecord record) =>
        new(record.Final ? "final" : "partial", JsonSerializer.Serialize(record, ServeJsonContext.Default.CaptionRecord), record.Id);

    private void Broadcast(SseEvent e)
    {
        for (int i = _subscribers.Count - 1; i >= 0; i--)
        {
            if (!_subscribers[i].Writer.TryWrite(e))
            {
                _subscribers[i].Writer.TryComplete();
                _subscribers.RemoveAt(i);
                Interlocked.Increment(ref _lagged);
            }
        }
    }
}
