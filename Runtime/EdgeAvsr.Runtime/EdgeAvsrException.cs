namespace EdgeAvsr.Runtime;

/// <summary>
/// An error the user can cause and fix: a bad file, a wrong shape, a missing engine.
/// The message alone is shown (one line, naming the file, tensor or key and what was expected);
/// the CLI exits with <see cref="ExitCodes.InvalidInput"/>. Bugs are other exception types.
/// </summary>
public sealed class EdgeAvsrException : Exception
{
    public EdgeAvsrException(string message) : base(message) { }

    public EdgeAvsrException(string message, Exception inner) : base(message, inner) { }

    public EdgeAvsrException() { }
}

/// <summary>Process exit codes shared by every EdgeAvsr command-line tool.</summary>
public static class ExitCodes
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int InvalidInput = 2;

    /// <summary>Stopped by the user (Ctrl+C): 128 + SIGINT, as shells report it.</summary>
    public const int Cancelled = 130;
}
