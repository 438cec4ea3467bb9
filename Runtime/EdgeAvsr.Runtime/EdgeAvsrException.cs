namespace EdgeAvsr.Runtime;

/// <summary>
/// An error the user can cause and fix: a bad file, a wrong shape, a missing engine.
/// The message alone is shown (one line, naming the file, tensor or key and what was expected).
/// Bugs are other exception types. An error about a value the caller passed names that parameter
/// (<see cref="Parameters"/>); a front end can say it in its own words with <see cref="Describe"/>.
/// </summary>
public sealed class EdgeAvsrException : Exception
{
    private readonly Func<Func<string, string>, string>? _message;

    public EdgeAvsrException(string message) : base(message) { }

    public EdgeAvsrException(string message, Exception inner) : base(message, inner) { }

    public EdgeAvsrException() { }

    /// <summary>An error about the value of <paramref name="parameter"/>; <paramref name="message"/> builds the text from its name.</summary>
    public EdgeAvsrException(string parameter, Func<string, string> message)
        : this([parameter], nameOf => message(nameOf(parameter)))
    {
        ArgumentNullException.ThrowIfNull(message);
    }

    private EdgeAvsrException(string[] parameters, Func<Func<string, string>, string> message) : base(message(name => name))
    {
        Parameters = parameters;
        _message = message;
    }

    /// <summary>The parameters whose values are wrong (e.g. <c>threads</c>); empty for an error about a file or the machine.</summary>
    public IReadOnlyList<string> Parameters { get; } = [];

    /// <summary>
    /// An error about several parameters: <paramref name="message"/> builds the text, asking the function it is given
    /// for each parameter's name.
    /// </summary>
    public static EdgeAvsrException ForParameters(Func<Func<string, string>, string> message, params string[] parameters)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(parameters);
        return new EdgeAvsrException(parameters, message);
    }

    /// <summary>The message with each parameter called what <paramref name="nameOf"/> returns (e.g. a command-line flag).</summary>
    public string Describe(Func<string, string> nameOf)
    {
        ArgumentNullException.ThrowIfNull(nameOf);
        return _message is null ? Message : _message(nameOf);
    }
}
