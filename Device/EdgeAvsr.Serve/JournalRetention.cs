namespace EdgeAvsr.Serve;

/// <summary>How long the journal keeps finals.</summary>
public sealed record JournalRetention(TimeSpan? MaxAge, int MaxLines);
