using EdgeAvsr.Device.Gpio;

namespace EdgeAvsr.Serve;

/// <summary>/captions/history: the newest finals (oldest first) after the id asked for.</summary>
internal sealed record HistoryResponse(string Run, long LastId, IReadOnlyList<CaptionRecord> Captions);

/// <summary>/health: the producer's own report plus what the daemon knows (journal, clients, counts, the GPIO panel when configured).</summary>
internal sealed record HealthResponse(
    string Status, string Run, double UptimeSeconds, ProducerHealth Producer, int ProducerRestarts, string? LastFault,
    JournalHealth Journal, ClientHealth Clients, PublishedCounts Published, GpioPanelStatus? Gpio);

internal sealed record JournalHealth(string Path, long LastId, int Entries);

/// <summary>SSE clients: connected now, the limit, refused past it, and cut off for falling behind (their drops).</summary>
internal sealed record ClientHealth(int Connected, int Max, long Rejected, long Lagged);

internal sealed record PublishedCounts(long Partials, long Finals);
