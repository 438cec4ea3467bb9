using System.CommandLine;
using System.CommandLine.Parsing;
using System.Runtime.CompilerServices;
using EdgeAvsr.Runtime;

namespace EdgeAvsr.Cli;

/// <summary>
/// Options that take one of a fixed set of words (an enum's lower-case names, <see cref="EnumText{T}"/>), accepted with
/// <c>AcceptOnlyFromAmong</c>. A word outside the set is the one-line error "--flag 'x' is not a, b or c" with exit code 2
/// (<see cref="CommandActions"/> reports it).
/// </summary>
internal static class ChoiceOptions
{
    private static readonly ConditionalWeakTable<Option, Func<string, string>> s_messages = [];

    /// <summary>
    /// An option taking one of <typeparamref name="T"/>'s names (or <paramref name="only"/> of them, in that order); required
    /// when it has no <paramref name="defaultValue"/>. <paramref name="oneOf"/>: the error lists every word ("is not one of a, b, c").
    /// </summary>
    public static Option<T> Of<T>(string name, string description, T? defaultValue = null, IReadOnlyList<T>? only = null, bool oneOf = false)
        where T : struct, Enum
    {
        string[] names = only is null ? [.. EnumText<T>.Names] : [.. only.Select(EnumText<T>.ToText)];
        var option = new Option<T>(name)
        {
            Description = description,
            Required = defaultValue is null,
            CustomParser = r => r.Tokens.Count > 0 && EnumText<T>.TryParse(r.Tokens[^1].Value, out var value) ? value : defaultValue ?? default,
        };
        if (defaultValue is { } d)
        {
            option.DefaultValueFactory = _ => d;
        }
        return Register(option, names, oneOf);
    }

    /// <summary>
    /// An optional option taking one of <typeparamref name="T"/>'s names, or <paramref name="noneWord"/> (e.g. <c>auto</c>)
    /// when given; null when absent or <paramref name="noneWord"/>.
    /// </summary>
    public static Option<T?> OrNone<T>(string name, string description, string? noneWord = null, IReadOnlyList<T>? only = null)
        where T : struct, Enum
    {
        IEnumerable<string> words = only is null ? EnumText<T>.Names : only.Select(EnumText<T>.ToText);
        string[] names = noneWord is null ? [.. words] : [noneWord, .. words];
        var option = new Option<T?>(name)
        {
            Description = description,
            DefaultValueFactory = _ => null,
            CustomParser = r => r.Tokens.Count > 0 && EnumText<T>.TryParse(r.Tokens[^1].Value, out var value) ? value : null,
        };
        return Register(option, names);
    }

    /// <summary>An option mapping words to values: <paramref name="choices"/> in the order the help lists them.</summary>
    public static Option<TValue> Words<TValue>(string name, string description, string defaultWord, params (string Word, TValue Value)[] choices)
    {
        TValue Value(string word) => choices.FirstOrDefault(c => c.Word == word).Value;
        var option = new Option<TValue>(name)
        {
            Description = description,
            DefaultValueFactory = _ => Value(defaultWord),
            CustomParser = r => Value(r.Tokens.Count > 0 ? r.Tokens[^1].Value : defaultWord),
        };
        return Register(option, [.. choices.Select(c => c.Word)]);
    }

    /// <summary>The one-line message for a parse error on a choice option; null for any other error.</summary>
    public static string? Describe(ParseError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (error.SymbolResult is OptionResult { Option: var option } result && s_messages.TryGetValue(option, out var message))
        {
            return message(result.Tokens.Count > 0 ? result.Tokens[^1].Value : "");
        }
        return null;
    }

    private static Option<TValue> Register<TValue>(Option<TValue> option, string[] names, bool oneOf = false)
    {
        option.Arity = ArgumentArity.ExactlyOne; // a bool? would otherwise read as a flag
        option.AcceptOnlyFromAmong(names);
        string choices = oneOf ? $"one of {string.Join(", ", names)}"
            : names.Length == 1 ? names[0] : $"{string.Join(", ", names[..^1])} or {names[^1]}";
        s_messages.AddOrUpdate(option, given => $"{option.Name} '{given}' is not {choices}");
        return option;
    }
}
