namespace EdgeAvsr.Cli;

/// <summary>The flag a library parameter is given by: <c>--</c> and its name in kebab case, or one of the exceptions here.</summary>
internal static class FlagNames
{
    private static readonly Dictionary<string, string> s_exceptions = new(StringComparer.Ordinal)
    {
        ["providers"] = "--ep",
        ["modelPath"] = "--model",
        ["landmarkModel"] = "--landmarks",
    };

    public static string Of(string parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        if (s_exceptions.TryGetValue(parameter, out string? flag))
        {
            return flag;
        }
        if (parameter.StartsWith('-') || parameter.Contains(':', StringComparison.Ordinal) || parameter.Contains(' ', StringComparison.Ordinal))
        {
            return parameter; // already a flag, or a place in a file
        }
        var kebab = new System.Text.StringBuilder("--");
        foreach (char c in parameter)
        {
            if (char.IsUpper(c))
            {
                kebab.Append('-').Append(char.ToLowerInvariant(c));
            }
            else
            {
                kebab.Append(c);
            }
        }
        return kebab.ToString();
    }
}
