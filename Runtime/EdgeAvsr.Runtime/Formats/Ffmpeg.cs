using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;

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

    /// <summary>The container's duration in seconds (ffprobe's format=duration), or null when it does not say.</summary>
    public static double? ProbeDuration(string mediaPath)
    {
        byte[] output = Run("ffprobe", mediaPath, ["-v", "error", "-show_entries", "format=duration", "-of", "default=noprint_wrappers=1:nokey=1", mediaPath]);
        return double.TryParse(System.Text.Encoding.UTF8.GetString(output).Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d)
            && d > 0 ? d : null;
    }

    /// <summary>The first stream of a kind (<c>a</c> audio, <c>v</c> video) with the entries asked, as key=value pairs.</summary>
    public static Dictionary<string, string> Probe(string mediaPath, char kind, string entries)
    {
        byte[] output = Run("ffprobe", mediaPath, ["-v", "error", "-select_streams", $"{kind}:0", "-show_entries", $"stream={entries}", "-of",
            "default=noprint_wrappers=1", mediaPath]);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in System.Text.Encoding.UTF8.GetString(output).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                result.TryAdd(line[..eq], line[(eq + 1)..]);
            }
        }
        if (result.Count == 0)
        {
            throw new EdgeAvsrException($"{mediaPath}: no {(kind == 'a' ? "audio" : "video")} stream found");
        }
        return result;
    }

    /// <summary>A positive integer entry of <see cref="Probe"/>'s result.</summary>
    public static int ProbeInt(string mediaPath, Dictionary<string, string> probe, string key)
    {
        ArgumentNullException.ThrowIfNull(probe);
        if (!probe.TryGetValue(key, out string? text) || !int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value < 1)
        {
            throw new EdgeAvsrException($"{mediaPath}: ffprobe reports {key}='{text ?? "(none)"}', expected a positive integer");
        }
        return value;
    }

    internal static string LastLines(string stderr)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return string.Join(" | ", lines.TakeLast(3));
    }
}
