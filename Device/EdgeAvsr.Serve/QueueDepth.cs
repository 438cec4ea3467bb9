namespace EdgeAvsr.Serve;

/// <summary>How many items wait in front of a stage.</summary>
public sealed record QueueDepth(string Queue, int Depth);
