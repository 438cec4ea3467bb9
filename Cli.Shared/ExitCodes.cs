namespace EdgeAvsr.Cli;

/// <summary>Process exit codes shared by every EdgeAvsr command-line tool.</summary>
internal static class ExitCodes
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int InvalidInput = 2;

    /// <summary>Stopped by the user (Ctrl+C): 128 + SIGINT, as shells report it.</summary>
    public const int Cancelled = 130;
}
