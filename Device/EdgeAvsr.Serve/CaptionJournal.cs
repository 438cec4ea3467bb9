using System.Text;
using System.Text.Json;
using EdgeAvsr.Runtime;

namespace EdgeAvsr.Serve;

/// <summary>The line a compacted journal starts with: the highest id ever given, so ids stay monotonic when every final was dropped.</summary>
internal sealed record JournalBase(long Base);

/// <summary>
/// Every final caption, one JSON line each, appended and fsync'ed before it is published. Ids are sequence numbers
/// that keep growing across restarts (the last one is read at open). A crash can leave a torn last line: it is
/// truncated at open, with a log line. Retention (age, count) rewrites the file atomically. Thread-safe.
/// </summary>
public sealed class CaptionJournal : IDisposable
{
    private readonly Lock _lock = new();
    private readonly List<CaptionRecord> _entries = [];
    private readonly JournalRetention _retention;
    private readonly Action<string> _log;
    private long _lastId;
    private long _baseId;
    private FileStream _stream;

    private CaptionJournal(string path, JournalRetention retention, Action<string> log)
    {
        Path = path;
        _retention = retention;
        _log = log;
        _stream = Load();
    }

    public string Path { get; }

    /// <summary>The id of the newest final ever written (0 for a new journal).</summary>
    public long LastId
    {
        get
        {
            lock (_lock)
            {
                return _lastId;
            }
        }
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Opens (or creates) the journal at <paramref name="path"/>; a line before the last that is not an entry is an error.</summary>
    public static CaptionJournal Open(string path, JournalRetention retention, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(retention);
        try
        {
            return new CaptionJournal(System.IO.Path.GetFullPath(path), retention, log ?? (_ => { }));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EdgeAvsrException($"{path}: cannot open the caption journal: {e.Message}", e);
        }
    }

    /// <summary>Gives <paramref name="caption"/> the next id, writes it and waits for the disk (fsync); returns it with its id.</summary>
    public CaptionRecord Append(CaptionRecord caption)
    {
        ArgumentNullException.ThrowIfNull(caption);
        lock (_lock)
        {
            var entry = caption with { Id = _lastId + 1, Final = true };
            byte[] line = Line(entry);
            _stream.Write(line);
            _stream.Flush(flushToDisk: true);
            _lastId = entry.Id!.Value;
            _entries.Add(entry);
            // Rewrite only once the excess is worth it, not on every append.
            if (_entries.Count > _retention.MaxLines + Math.Max(16, _retention.MaxLines / 10))
            {
                CompactLocked(DateTimeOffset.UtcNow);
            }
            return entry;
        }
    }

    /// <summary>Finals with an id above <paramref name="afterId"/>, oldest first, at most the newest <paramref name="limit"/> of them.</summary>
    public IReadOnlyList<CaptionRecord> After(long afterId, int limit)
    {
        lock (_lock)
        {
            int first = _entries.FindIndex(e => e.Id > afterId);
            if (first < 0)
            {
                return [];
            }
            first = Math.Max(first, _entries.Count - limit);
            return _entries.GetRange(first, _entries.Count - first);
        }
    }

    /// <summary>Drops finals past the retention limits and rewrites the file when any went.</summary>
    public void ApplyRetention(DateTimeOffset now)
    {
        lock (_lock)
        {
            if (Expired(now) > 0 || _entries.Count > _retention.MaxLines)
            {
                CompactLocked(now);
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _stream.Dispose();
        }
    }

    private static byte[] Line(CaptionRecord entry)
    {
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(entry, ServeJsonContext.Default.CaptionRecord);
        byte[] line = new byte[json.Length + 1];
        json.CopyTo(line, 0);
        line[^1] = (byte)'\n';
        return line;
    }

    private int Expired(DateTimeOffset now) =>
        _retention.MaxAge is { } age ? _entries.TakeWhile(e => now - e.Time > age).Count() : 0;

    private FileStream Load()
    {
        string? dir = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }
        byte[] bytes = File.Exists(Path) ? File.ReadAllBytes(Path) : [];
        int end = bytes.AsSpan().LastIndexOf((byte)'\n') + 1;
        int lineNumber = 0;
        int start = 0;
        while (start < end)
        {
            int length = bytes.AsSpan(start, end - start).IndexOf((byte)'\n');
            lineNumber++;
            bool last = start + length + 1 == end;
            if (!TryReadLine(bytes.AsSpan(start, length)))
            {
                if (!last)
                {
                    throw new EdgeAvsrException($"{Path} line {lineNumber}: not a caption journal entry (expected a JSON object with id, run, text)");
                }
                // A complete but unreadable last line is what a crash mid-write can leave too (zeros from the file system).
                end = start;
                break;
            }
            start += length + 1;
        }
        if (end < bytes.Length)
        {
            _log($"caption journal {Path}: a torn last line ({bytes.Length - end} bytes) from an unclean stop; truncated it");
            using var truncate = new FileStream(Path, FileMode.Open, FileAccess.Write, FileShare.Read);
            truncate.SetLength(end);
            truncate.Flush(flushToDisk: true);
        }
        _lastId = Math.Max(_baseId, _entries.Count > 0 ? _entries[^1].Id!.Value : 0);
        var now = DateTimeOffset.UtcNow;
        if (Expired(now) > 0 || _entries.Count > _retention.MaxLines)
        {
            return CompactUnopened(now);
        }
        return OpenAppend();
    }

    private bool TryReadLine(ReadOnlySpan<byte> line)
    {
        try
        {
            if (line.StartsWith("{\"base\":"u8))
            {
                var header = JsonSerializer.Deserialize(line, ServeJsonContext.Default.JournalBase);
                _baseId = Math.Max(_baseId, header?.Base ?? 0);
                return header is not null;
            }
            var entry = JsonSerializer.Deserialize(line, ServeJsonContext.Default.CaptionRecord);
            if (entry?.Id is not { } id || id <= (_entries.Count > 0 ? _entries[^1].Id : 0))
            {
                return false;
            }
            _entries.Add(entry);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private FileStream OpenAppend() => new(Path, FileMode.Append, FileAccess.Write, FileShare.Read, 1, FileOptions.None);

    private void CompactLocked(DateTimeOffset now)
    {
        _stream.Dispose();
        _stream = CompactUnopened(now);
    }

    // Keeps what the retention allows, writes it beside the journal and renames it over (readers see old or new).
    private FileStream CompactUnopened(DateTimeOffset now)
    {
        int drop = Math.Max(Expired(now), _entries.Count - _retention.MaxLines);
        _entries.RemoveRange(0, Math.Min(drop, _entries.Count));
        var text = new MemoryStream();
        text.Write(Encoding.UTF8.GetBytes($"{{\"base\":{_lastId}}}\n"));
        foreach (var e in _entries)
        {
            text.Write(Line(e));
        }
        string temp = Path + ".compact";
        using (var f = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            text.WriteTo(f);
            f.Flush(flushToDisk: true);
        }
        File.Move(temp, Path, overwrite: true);
        _log($"caption journal {Path}: retention dropped {drop} final(s), {_entries.Count} kept");
        return OpenAppend();
    }
}
