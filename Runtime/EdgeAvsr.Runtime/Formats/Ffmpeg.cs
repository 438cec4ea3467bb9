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
    /// <summary>Runs <paramref name="tool"/> with <paramref name="args"/>; returns its stdout bytes.</summary>
    public static byte[] Run(string tool, string mediaPath, IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
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
        Process p;
        try
        {
            p = Process.Start(psi) ?? throw new EdgeAvsrException($"{tool}: could not be started");
        }
        catch (Win32Exception e)
        {
            throw new EdgeAvsrException($"{mediaPath}: decoding needs '{tool}' on PATH (Debian package ffmpeg): {e.Message}");
        }
        using (p)
        {
            p.StandardInput.Close();
            var stderr = p.StandardError.ReadToEndAsync();
            using var buffer = new MemoryStream();
            p.StandardOutput.BaseStream.CopyTo(buffer);
            p.WaitForExit();
            if (p.ExitCode != 0)
            {
                string message = LastLines(stderr.Result);
                throw new EdgeAvsrException($"{mediaPath}: {tool} cannot decode it: {(message.Length > 0 ? message : $"exit code {p.ExitCode}")}");
            }
            return buffer.ToArray();
        }
    }

    /// <summary>The first stream of a kind (<c>a</c> audio, <c>v</c> video) with the entries asked, as key=value pairs.</summary>
    public static Dictionary<string, string> Probe(string mediaPath, char kind, string entries)
    {
        byte[] output = Run("ffprobe", mediaPath, ["-v", "error", "-select_streams", $"{kind}:0", "-show_entries", $"stream={entries}", "-of", "default=noprint_wrappers=1", mediaPath]);
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

    private static string LastLines(string stderr)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return string.Join(" | ", lines.TakeLast(3));
    }
}
