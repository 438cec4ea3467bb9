using System.Device.Gpio;
using System.Device.Gpio.Drivers;
using System.Device.I2c;
using System.Globalization;
using EdgeAvsr.Device.Config;
using EdgeAvsr.Runtime;

namespace EdgeAvsr.Device.Gpio;

/// <summary>What the panel shows: the LEDs, an optional one-line state for the LCD's first row, and the caption below it.</summary>
public sealed record PanelState(LedStates Leds, string? StateLine, string Caption);

/// <summary>
/// The box's own GPIO parts together: the push-to-talk button (feeding <see cref="Talk"/>), the status LEDs and the caption LCD,
/// from the <c>gpio</c> and <c>lcd</c> sections of the device settings. A part that cannot be opened (no chip, no libgpiod, no
/// I2C bus, nothing at the address) or that fails while driven is left out and named in <see cref="Status"/>; nothing here
/// throws past <see cref="Open"/>, so a broken panel never stops captioning. Without a working button captioning is always on.
/// </summary>
public sealed class GpioPanel : IDisposable
{
    private readonly Lock _lock = new();
    private readonly GpioConfig? _gpio;
    private readonly LcdConfig? _lcdConfig;
    private readonly GpioController? _controller;
    private readonly PushToTalkButton? _button;
    private readonly StatusLeds? _leds;
    private readonly CaptionLcd? _lcd;
    private readonly List<string> _problems;
    private PanelState? _shown;

    private GpioPanel(GpioConfig? gpio, LcdConfig? lcdConfig, GpioController? controller, PushToTalkButton? button, StatusLeds? leds, CaptionLcd? lcd,
        List<string> problems)
    {
        _gpio = gpio;
        _lcdConfig = lcdConfig;
        _controller = controller;
        _button = button;
        _leds = leds;
        _lcd = lcd;
        _problems = problems;
        Talk = new TalkSwitch(button is null ? null : gpio!.ButtonMode);
        if (button is not null)
        {
            button.Changed += (_, action) => Talk.Apply(action);
        }
    }

    /// <summary>Captioning on or off, as the button says (always on without a working button).</summary>
    public TalkSwitch Talk { get; }

    /// <summary>
    /// Opens what <paramref name="config"/> names. <paramref name="openChip"/> and <paramref name="openI2c"/> stand in for the
    /// hardware in tests; null: libgpiod v1 (<c>libgpiod.so.2</c>, as Debian 12 and JetPack ship) on <c>/dev/gpiochipN</c>, and
    /// <c>/dev/i2c-N</c>.
    /// </summary>
    public static GpioPanel Open(DeviceConfig config, Func<int, GpioDriver>? openChip = null, Func<I2cConnectionSettings, I2cDevice>? openI2c = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var problems = new List<string>();
        GpioController? controller = null;
        PushToTalkButton? button = null;
        StatusLeds? leds = null;
        CaptionLcd? lcd = null;
        if (config.Gpio is { } g)
        {
            controller = Try(problems, $"gpio.chip: {ChipPath(g.Chip)} cannot be opened", () => new GpioController((openChip ?? LibGpiod)(g.Chip)));
            if (controller is not null && (g.ListeningLedPin ?? g.ThinkingLedPin ?? g.ErrorLedPin) is not null)
            {
                leds = Try(problems, "gpio: the LEDs cannot be driven", () => new StatusLeds(g, controller));
            }
            if (controller is not null && g.ButtonPin is not null)
            {
                button = Try(problems, "gpio.button_pin: the button cannot be read", () => new PushToTalkButton(g, controller));
            }
        }
        if (config.Lcd is { } l)
        {
            lcd = Try(problems, $"lcd: {LcdPath(l)} cannot be driven", () => CaptionLcd.Open(l, openI2c));
        }
        return new GpioPanel(config.Gpio, config.Lcd, controller, button, leds, lcd, problems);
    }

    /// <summary>Parts that could not be opened or driven, one line each naming its key (the daemon logs and reports them).</summary>
    public IReadOnlyList<string> Problems
    {
        get
        {
            lock (_lock)
            {
                return [.. _problems];
            }
        }
    }

    /// <summary>Drives the LEDs and the LCD; unchanged states are not rewritten. A part that fails is named in <see cref="Problems"/>.</summary>
    public void Show(PanelState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        lock (_lock)
        {
            if (state == _shown)
            {
                return;
            }
            _shown = state;
            if (_leds is not null)
            {
                Drive("gpio: the LEDs cannot be driven", () => _leds.Show(state.Leds));
            }
            if (_lcd is not null)
            {
                Drive($"lcd: {LcdPath(_lcdConfig!)} cannot be driven", () => _lcd.Show(state.StateLine, state.Caption));
            }
        }
    }

    public GpioPanelStatus Status
    {
        get
        {
            lock (_lock)
            {
                var button = _gpio?.ButtonPin is { } pin
                    ? new ButtonStatus(pin, EnumName(_gpio.ButtonMode), _button is not null, _button?.IsDown ?? false, Talk.Talking, Talk.Presses)
                    : null;
                return new GpioPanelStatus(_gpio is { } g ? ChipPath(g.Chip) : null, _controller is not null, button, _leds?.Shown,
                    _lcdConfig is { } l ? new LcdStatus(LcdPath(l), _lcd is not null, _lcd?.Shown ?? []) : null, [.. _problems]);
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _button?.Dispose();
            Drive("gpio: the LEDs cannot be darkened", () => _leds?.Dispose());
            Drive("lcd: cannot be closed", () => _lcd?.Dispose());
            _controller?.Dispose();
        }
    }

    private static string ChipPath(int chip) => string.Create(CultureInfo.InvariantCulture, $"/dev/gpiochip{chip}");

    private static string LcdPath(LcdConfig l) => string.Create(CultureInfo.InvariantCulture, $"/dev/i2c-{l.Bus} 0x{l.Address:X2}");

    private static string EnumName(ButtonMode mode) => mode == ButtonMode.Toggle ? "toggle" : "push_to_talk";

    // The character device is checked first: without it libgpiod's own failure says less.
    private static GpioDriver LibGpiod(int chip) => File.Exists(ChipPath(chip))
        ? new LibGpiodDriver(chip)
        : throw new EdgeAvsrException($"gpio.chip: {ChipPath(chip)} does not exist (no such GPIO chip on this machine)");

    private static T? Try<T>(List<string> problems, string what, Func<T> open)
        where T : class
    {
        try
        {
            return open();
        }
        catch (EdgeAvsrException e)
        {
            problems.Add(e.Message);
        }
        // A missing native library or a driver's own exception types: any of them only means the part is not there.
        catch (Exception e) when (e is not (OutOfMemoryException or StackOverflowException))
        {
            problems.Add($"{what} ({Describe(e)})");
        }
        return null;
    }

    private void Drive(string what, Action drive)
    {
        try
        {
            drive();
        }
        catch (Exception e) when (e is not (OutOfMemoryException or StackOverflowException))
        {
            string line = $"{what} ({Describe(e)})";
            if (!_problems.Contains(line))
            {
                _problems.Add(line);
            }
        }
    }

    private static string Describe(Exception e) =>
        e is TypeInitializationException { InnerException: { } inner } ? Describe(inner) : $"{e.GetType().Name}: {e.Message}";
}
