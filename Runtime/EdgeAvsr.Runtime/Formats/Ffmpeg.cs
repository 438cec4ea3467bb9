using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace EdgeAvsr.Runtime.Formats;

/// <summary>
/// Runs the <c>ffmpeg</c>/<c>ffprobe</c> executables (from PATH) as child processes and reads their
/// output through a pipe. A failure (missing tool, unreadable media, no stream of the asked kind)
/// becomes an <see cref="EdgeAvsrException"/> carrying ffmpeg's own message.
/// </summary>
public static class Ffmpeg
{
    /// <summary>
    /// Runs <paramref name="tool"/> with <paramref name="args"/>; returns its stdout bytes. Output beyond
    /// <paramref name="maxBytes"/> (default: the largest array .NET allows) stops the tool and is an error.
    /// </summary>
    public static byte[] Run(string tool, string mediaPath, IReadOnlyList<string> args, long maxBytes = 0)
    {
        long limit = maxBytes > 0 ? Math.Min(maxBytes, Array.MaxLength) : Array.MaxLength;
        using var pipe = Open(tool, mediaPath, args);
        using var buffer = new MemoryStream();
        var chunk = new byte[1 << 16];
        int read;
        while ((read = pipe.Read(chunk)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                // Disposing the pipe stops the tool.
                throw new EdgeAvsrException($"{mediaPath}: the decoded stream exceeds {limit} bytes; cut the input shorter (e.g. ffmpeg -t SECONDS)");
            }
            buffer.Write(chunk, 0, read);
        }
        pipe.Complete();
        return buffer.ToArray();
    }

    /// <summary>
    /// Starts <paramref name="tool"/> and hands back its stdout to read as it comes (long media need not fit in memory);
    /// <see cref="FfmpegPipe.Complete"/> turns a failed exit into an <see cref="EdgeAvsrException"/> quoting the tool.
    /// </summary>
    public static FfmpegPipe Open(string tool, string mediaPath, IReadOnlyList<string> args) => new(Start(tool, mediaPath, args), tool, mediaPath);

    /// <summary>
    /// Told of every tool started (tool, media path, arguments) from the async flow that set it: a test counts the probes
    /// of one call without seeing those of tests running beside it.
    /// </summary>
    internal static AsyncLocal<Action<string, string, IReadOnlyList<string>>?> StartObserver { get; } = new();

    /// <summary>Starts the tool with stdin closed and stdout/stderr piped; a missing file or tool is a clear error.</summary>
    private static Process Start(string tool, string mediaPath, IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        StartObserver.Value?.Invoke(tool, mediaPath, args);
        if (!File.Exists(mediaPath))
        {
            throw new EdgeAvsrException($"{mediaPath}: file not found");
        }
        var psi = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        try
        {
            var p = Process.Start(psi) ?? throw new EdgeAvsrException($"{tool}: could not be started");
            p.StandardInput.Close();
            return p;
        }
        catch (Win32Exception e)
        {
            throw new EdgeAvsrException($"{mediaPath}: decoding needs '{tool}' on PATH (Debian package ffmpeg): {e.Message}");
        }
    }

    /// <summary>
    /// The file's duration and stream entries from one ffprobe run (each run costs a process start, which dominates on
    /// short clips).
    /// </summary>
    public static MediaFileInfo Inspect(string mediaPath)
    {
        byte[] output = Run("ffprobe", mediaPath, ["-v", "error", "-show_entries",
            "format=duration:stream=codec_type,sample_rate,channels,width,height:stream_disposition=attached_pic", "-of", "json", mediaPath]);
        try
        {
            using var json = JsonDocument.Parse(output);
            var root = json.RootElement;
            Dictionary<string, string>? audio = null, video = null;
            if (root.TryGetProperty("streams", out var streams) && streams.ValueKind == JsonValueKind.Array)
            {
                foreach (var stream in streams.EnumerateArray())
                {
                    string? type = stream.TryGetProperty("codec_type", out var t) ? t.GetString() : null;
                    bool coverArt = stream.TryGetProperty("disposition", out var d) && d.TryGetProperty("attached_pic", out var a)
                        && a.ValueKind == JsonValueKind.Number && a.GetInt32() == 1;
                    if (type == "audio" && audio is null)
                    {
                        audio = Entries(stream);
                    }
                    else if (type == "video" && !coverArt && video is null)
                    {
                        video = Entries(stream);
                    }
                }
            }
            double? duration = root.TryGetProperty("format", out var format) && format.TryGetProperty("duration", out var dur)
                && double.TryParse(dur.ToString(), NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) && seconds > 0 ? seconds : null;
            return new MediaFileInfo(mediaPath, duration, audio, video);
        }
        catch (JsonException e)
        {
            throw new EdgeAvsrException($"{mediaPath}: ffprobe's report is not JSON ({e.Message})");
        }
    }

    private static Dictionary<string, string> Entries(JsonElement stream)
    {
        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in stream.EnumerateObject())
        {
            if (p.Value.ValueKind is JsonValueKind.String or JsonValueKind.Number)
            {
                entries[p.Name] = p.Value.ToString();
            }
        }
        return entries;
    }

    internal static string LastLines(string stderr)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return string.Join(" | ", lines.TakeLast(3));
    }
}
