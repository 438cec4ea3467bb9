using System.Globalization;

namespace EdgeAvsr.Runtime.Formats;

/// <summary>
/// What one ffprobe run found in a media file: the container's duration and the entries of its first audio stream and
/// its first video stream that is not an attached picture (cover art). Values are checked when they are used, so a
/// broken entry of a stream nobody reads is no error.
/// </summary>
public sealed record MediaFileInfo(
    string Path,
    double? DurationSeconds,
    IReadOnlyDictionary<string, string>? AudioEntries,
    IReadOnlyDictionary<string, string>? VideoEntries)
{
    public bool HasAudio => AudioEntries is not null;

    public bool HasVideo => VideoEntries is not null;

    /// <summary>The first audio stream's sample rate and channel count.</summary>
    public (int SampleRate, int Channels) AudioFormat()
    {
        var entries = AudioEntries ?? throw new EdgeAvsrException($"{Path}: no audio stream found");
        return (PositiveInt(entries, "sample_rate"), PositiveInt(entries, "channels"));
    }

    /// <summary>The first video stream's stored width and height.</summary>
    public (int Width, int Height) VideoSize()
    {
        var entries = VideoEntries ?? throw new EdgeAvsrException($"{Path}: no video stream found");
        return (PositiveInt(entries, "width"), PositiveInt(entries, "height"));
    }

    private int PositiveInt(IReadOnlyDictionary<string, string> entries, string key)
    {
        if (!entries.TryGetValue(key, out string? text) || !int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value < 1)
        {
            throw new EdgeAvsrException($"{Path}: ffprobe reports {key}='{text ?? "(none)"}', expected a positive integer");
        }
        return value;
    }
}
