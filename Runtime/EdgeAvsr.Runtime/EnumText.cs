namespace EdgeAvsr.Runtime;

/// <summary>
/// An enum's values as lower-case text (<c>Q4_K_M</c> is <c>q4_k_m</c>), in declaration order: one mapping for the
/// command-line options, the manifest reader and the messages that list the choices.
/// </summary>
public static class EnumText<T> where T : struct, Enum
{
    private static readonly T[] s_values = Enum.GetValues<T>();

    /// <summary>Every value's text, in declaration order.</summary>
    public static IReadOnlyList<string> Names { get; } = Array.ConvertAll(s_values, v => v.ToString().ToLowerInvariant());

    public static string ToText(T value) => value.ToString().ToLowerInvariant();

    /// <summary>The value whose text is <paramref name="text"/> (any case); false when there is none.</summary>
    public static bool TryParse(string? text, out T value)
    {
        for (int i = 0; i < s_values.Length; i++)
        {
            if (string.Equals(Names[i], text, StringComparison.OrdinalIgnoreCase))
            {
                value = s_values[i];
                return true;
            }
        }
        value = default;
        return false;
    }

    /// <summary>
    /// The value named by <paramref name="text"/>, or an <see cref="EdgeAvsrException"/> "<paramref name="what"/> 'x' is not a, b or c"
    /// that names <paramref name="what"/> as its parameter.
    /// </summary>
    public static T Parse(string? text, string what, IReadOnlyList<string>? allowed = null)
    {
        ArgumentNullException.ThrowIfNull(what);
        allowed ??= Names;
        if (TryParse(text, out var value) && allowed.Contains(ToText(value)))
        {
            return value;
        }
        throw new EdgeAvsrException(what, name => $"{name} '{text}' is not {Choices(allowed)}");
    }

    /// <summary><c>a, b or c</c>.</summary>
    public static string Choices(IReadOnlyList<string>? names = null)
    {
        names ??= Names;
        return names.Count == 1 ? names[0] : $"{string.Join(", ", names.Take(names.Count - 1))} or {names[^1]}";
    }
}
