namespace EdgeAvsr.Runtime.Pack;

/// <summary>How to open (check) a pack.</summary>
public sealed record ModelPackOptions
{
    /// <summary>Recompute every file's SHA-256 and compare it with the manifest (reads every byte).</summary>
    public bool VerifyHashes { get; init; }
}
