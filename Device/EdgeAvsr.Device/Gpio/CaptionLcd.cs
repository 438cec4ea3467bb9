using System.Device.Gpio;
using System.Device.I2c;
using System.Text;
using EdgeAvsr.Device.Config;
using EdgeAvsr.Runtime;
using Iot.Device.CharacterLcd;
using Iot.Device.Pcx857x;

namespace EdgeAvsr.Device.Gpio;

/// <summary>
/// The last caption on a character LCD (16x2 by default): an HD44780 (the bindings' <see cref="Lcd1602"/>) driven in 4-bit
/// mode through a PCF8574 I2C expander wired as the common backpacks are (P0 RS, P1 RW, P2 E, P3 backlight, P4-P7 D4-D7).
/// Text is laid out by <see cref="Layout"/>: words wrapped to the rows, the end kept when it does not fit, non-ASCII mapped.
/// </summary>
public sealed class CaptionLcd : IDisposable
{
    private readonly Hd44780 _lcd;
    private readonly GpioController _expander;
    private readonly int _columns, _rows;
    private string[] _shown = [];

    /// <param name="device">The I2C device of the expander (a fake one in tests); disposed with this.</param>
    /// <param name="config">The display's size.</param>
    public CaptionLcd(I2cDevice device, LcdConfig config)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(config);
        _columns = config.Columns;
        _rows = config.Rows;
        _expander = new GpioController(new Pcf8574(device));
        var pins = LcdInterface.CreateGpio(registerSelectPin: 0, enablePin: 2, dataPins: [4, 5, 6, 7], backlightPin: 3, backlightBrightness: 1f,
            readWritePin: 1, controller: _expander, shouldDispose: false);
        _lcd = new Hd44780(new System.Drawing.Size(_columns, _rows), pins);
        _lcd.Clear();
    }

    /// <summary>Opens the expander at <see cref="LcdConfig.Address"/> on <see cref="LcdConfig.Bus"/>.</summary>
    /// <param name="config">The bus, address and size.</param>
    /// <param name="openDevice">Opens the I2C device (a fake one in tests); null: <see cref="I2cDevice.Create"/> on <c>/dev/i2c-N</c>.</param>
    public static CaptionLcd Open(LcdConfig config, Func<I2cConnectionSettings, I2cDevice>? openDevice = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        I2cDevice device;
        try
        {
            device = (openDevice ?? I2cDevice.Create)(new I2cConnectionSettings(config.Bus, config.Address));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException or ArgumentException)
        {
            throw new EdgeAvsrException($"lcd.i2c_bus: /dev/i2c-{config.Bus} cannot be opened ({e.Message})", e);
        }
        try
        {
            return new CaptionLcd(device, config);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            device.Dispose();
            throw new EdgeAvsrException($"lcd.i2c_address: no PCF8574 answers at 0x{config.Address:X2} on /dev/i2c-{config.Bus} ({e.Message})", e);
        }
    }

    /// <summary>The rows shown last.</summary>
    public IReadOnlyList<string> Shown => _shown;

    /// <summary>Shows <paramref name="caption"/> (laid out by <see cref="Layout"/>); rows already showing the same text are not rewritten.</summary>
    public void Show(string caption) => ShowRows(Layout(caption, _columns, _rows));

    /// <summary>
    /// <paramref name="stateLine"/> on the first row (cut to its width) and the end of <paramref name="caption"/> laid out on the
    /// rows below; without a state line the caption has every row. A one-row display shows only the state line.
    /// </summary>
    public void Show(string? stateLine, string caption)
    {
        ArgumentNullException.ThrowIfNull(caption);
        if (stateLine is null)
        {
            Show(caption);
            return;
        }
        string first = ToAscii(stateLine);
        first = first.Length > _columns ? first[.._columns] : first.PadRight(_columns);
        ShowRows([first, .. _rows > 1 ? Layout(caption, _columns, _rows - 1) : []]);
    }

    private void ShowRows(string[] rows)
    {
        for (int r = 0; r < rows.Length; r++)
        {
            if (r < _shown.Length && _shown[r] == rows[r])
            {
                continue;
            }
            _lcd.SetCursorPosition(0, r);
            _lcd.Write(rows[r]);
        }
        _shown = rows;
    }

    /// <summary>
    /// <paramref name="text"/> as <paramref name="rows"/> rows of exactly <paramref name="columns"/> characters (space padded):
    /// accents dropped and other non-ASCII characters shown as '?', words wrapped (a word longer than a row is cut), and
    /// when the words need more rows the last ones are kept (a live caption's newest words matter most).
    /// </summary>
    public static string[] Layout(string text, int columns, int rows)
    {
        ArgumentNullException.ThrowIfNull(text);
        var lines = new List<string>();
        var line = new StringBuilder();
        foreach (string word in ToAscii(text).Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            for (int at = 0; at < word.Length; at += columns)
            {
                string piece = word.Substring(at, Math.Min(columns, word.Length - at));
                if (line.Length > 0 && line.Length + 1 + piece.Length > columns)
                {
                    lines.Add(line.ToString());
                    line.Clear();
                }
                line.Append(line.Length > 0 ? " " : "").Append(piece);
            }
        }
        if (line.Length > 0)
        {
            lines.Add(line.ToString());
        }
        var kept = lines.Skip(Math.Max(0, lines.Count - rows)).ToList();
        while (kept.Count < rows)
        {
            kept.Add("");
        }
        return [.. kept.Select(l => l.PadRight(columns))];
    }

    // Latin-1 (U+00C0-U+00FF) and Latin Extended-A (U+0100-U+017F) letters without their accents, one character each
    // (the build runs with invariant globalization, whose Normalize does not decompose).
    private const string Latin1Folded = "AAAAAAACEEEEIIIIDNOOOOOxOUUUUY?saaaaaaaceeeeiiiidnooooo/ouuuuy?y";
    private const string LatinExtendedAFolded =
        "AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIiIiJjKkkLlLlLlLlLlNnNnNnnNnOoOoOoOoRrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzs";

    /// <summary>Printable ASCII only: accented Latin letters without their accents (é to e), whitespace to a space, typographic
    /// quotes and dashes to their ASCII kin, combining marks dropped, anything else '?'.</summary>
    public static string ToAscii(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            if (c is >= '\u0300' and <= '\u036F')
            {
                continue;
            }
            result.Append(c switch
            {
                >= ' ' and <= '~' => c,
                >= '\u00C0' and <= '\u00FF' => Latin1Folded[c - 0xC0],
                >= '\u0100' and <= '\u017F' => LatinExtendedAFolded[c - 0x100],
                _ when char.IsWhiteSpace(c) => ' ',
                '\u2018' or '\u2019' => '\'',
                '\u201C' or '\u201D' => '"',
                '\u2013' or '\u2014' => '-',
                _ => '?',
            });
        }
        return result.ToString();
    }

    public void Dispose()
    {
        _lcd.Dispose();
        _expander.Dispose();
    }
}
