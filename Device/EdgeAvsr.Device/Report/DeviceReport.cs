using System.Globalization;
using System.Text.RegularExpressions;

namespace EdgeAvsr.Device.Report;

/// <summary>Which GPIO driver System.Device.Gpio would pick on this machine.</summary>
public enum GpioDriverChoice
{
    /// <summary>No GPIO here (no /dev/gpiochip*, no /sys/class/gpio).</summary>
    None,

    /// <summary>The character device through libgpiod (<c>libgpiod.so.2</c> v1, or v2).</summary>
    Libgpiod,

    /// <summary>Character devices exist but libgpiod is not installed: the sysfs interface, if the kernel still has it.</summary>
    Sysfs,
}

/// <summary>A tool the device sources run, and where it was found.</summary>
public sealed record ToolPresence(string Name, string? Path);

/// <summary>
/// What a box offers its devices, for <c>doctor</c>: GPIO chips and the driver they would use, I2C buses, V4L2 video devices,
/// ALSA sound cards, and the capture tools (ffmpeg, gst-launch-1.0). Read from the file system only (nothing is opened).
/// </summary>
public sealed record DeviceReport(
    IReadOnlyList<string> GpioChips,
    GpioDriverChoice GpioDriver,
    string? Libgpiod,
    IReadOnlyList<string> I2cBuses,
    IReadOnlyList<string> VideoDevices,
    IReadOnlyList<string> SoundCards,
    IReadOnlyList<ToolPresence> Tools)
{
    private static readonly string[] LibgpiodNames = ["libgpiod.so.3", "libgpiod.so.2"];
    private static readonly string[] LibraryFolders =
        ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib", "/usr/local/lib", "/lib"];

    /// <summary>Looks at this machine (or a copy of its /dev, /proc and /sys under <paramref name="root"/>, for tests).</summary>
    /// <param name="root">The file system root ("/" normally).</param>
    /// <param name="path">The PATH searched for tools (default: this process's).</param>
    public static DeviceReport Probe(string root = "/", string? path = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        string dev = Path.Combine(root, "dev");
        var chips = List(dev, "gpiochip*");
        string? libgpiod = LibraryFolders.SelectMany(f => LibgpiodNames.Select(n => Path.Combine(root, f.TrimStart('/'), n))).FirstOrDefault(File.Exists);
        var driver = chips.Count == 0
            ? (Directory.Exists(Path.Combine(root, "sys/class/gpio")) ? GpioDriverChoice.Sysfs : GpioDriverChoice.None)
            : libgpiod is not null ? GpioDriverChoice.Libgpiod : GpioDriverChoice.Sysfs;
        string searched = path ?? Environment.GetEnvironmentVariable("PATH") ?? "";
        var tools = new[] { "ffmpeg", "ffprobe", "gst-launch-1.0" }.Select(t => new ToolPresence(t, FindOnPath(t, searched))).ToList();
        var cards = ReadSoundCards(Path.Combine(root, "proc/asound/cards"));
        return new DeviceReport(chips, driver, libgpiod, List(dev, "i2c-*"), List(dev, "video*"), cards, tools);
    }

    /// <summary>The report as doctor prints it, one finding a line.</summary>
    public IEnumerable<string> Lines()
    {
        yield return GpioDriver switch
        {
            GpioDriverChoice.Libgpiod => $"gpio: {string.Join(", ", GpioChips)} through libgpiod ({Libgpiod})",
            GpioDriverChoice.Sysfs when GpioChips.Count > 0 => $"gpio: {string.Join(", ", GpioChips)} but no libgpiod (Debian package libgpiod2): sysfs driver",
            GpioDriverChoice.Sysfs => "gpio: no /dev/gpiochip*, only /sys/class/gpio: sysfs driver",
            _ => "gpio: none (no /dev/gpiochip*): button and LEDs unavailable",
        };
        yield return I2cBuses.Count > 0 ? $"i2c: {string.Join(", ", I2cBuses)} (LCD through a PCF8574)" : "i2c: none (no /dev/i2c-*): LCD unavailable";
        yield return VideoDevices.Count > 0 ? $"camera: {string.Join(", ", VideoDevices)} (v4l2 through ffmpeg)" : "camera: no /dev/video* (v4l2)";
        yield return SoundCards.Count > 0 ? $"microphone: ALSA cards {string.Join("; ", SoundCards)}" : "microphone: no ALSA card (/proc/asound/cards)";
        foreach (var t in Tools)
        {
            yield return t.Path is null ? $"{t.Name}: not on PATH" : $"{t.Name}: {t.Path}";
        }
    }

    private static List<string> List(string folder, string pattern) =>
        Directory.Exists(folder)
            ? [.. Directory.EnumerateFileSystemEntries(folder, pattern).Select(p => "/dev/" + Path.GetFileName(p)).Order(NaturalOrder.Instance)]
            : [];

    /// <summary>ALSA's card lines: " 0 [PCH            ]: HDA-Intel - HDA Intel PCH" becomes "hw:0 PCH (HDA Intel PCH)" (the driver is one word).</summary>
    internal static List<string> ReadSoundCards(string cardsFile)
    {
        if (!File.Exists(cardsFile))
        {
            return [];
        }
        var cards = new List<string>();
        foreach (string line in File.ReadLines(cardsFile))
        {
            var m = Regex.Match(line, @"^\s*(\d+)\s+\[([^\]]*)\]\s*:\s*\S+\s+-\s+(.*)$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
            if (m.Success)
            {
                cards.Add($"hw:{m.Groups[1].Value} {m.Groups[2].Value.Trim()} ({m.Groups[3].Value.Trim()})");
            }
        }
        return cards;
    }

    private static string? FindOnPath(string tool, string searched) =>
        searched.Split(':', StringSplitOptions.RemoveEmptyEntries).Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);

    /// <summary>video2 before video10.</summary>
    private sealed class NaturalOrder : IComparer<string>
    {
        public static NaturalOrder Instance { get; } = new();

        public int Compare(string? x, string? y)
        {
            static (string Stem, long Number) Split(string s)
            {
                int i = s.Length;
                while (i > 0 && char.IsAsciiDigit(s[i - 1]))
                {
                    i--;
                }
                return (s[..i], i < s.Length ? long.Parse(s[i..], CultureInfo.InvariantCulture) : -1);
            }
            var (sx, nx) = Split(x ?? "");
            var (sy, ny) = Split(y ?? "");
            int c = string.CompareOrdinal(sx, sy);
            return c != 0 ? c : nx.CompareTo(ny);
        }
    }
}
