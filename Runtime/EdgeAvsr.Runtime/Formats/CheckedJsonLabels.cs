namespace EdgeAvsr.Runtime.Formats;

/// <summary>How a <see cref="CheckedJson"/> names keys in its errors.</summary>
/// <param name="KeyLabel">Words before a key path (e.g. "training argument ").</param>
/// <param name="MissingHint">Appended to the message for a missing key (e.g. "; it is never guessed").</param>
public sealed record CheckedJsonLabels(string KeyLabel, string MissingHint);
