namespace EdgeAvsr.Device.Gpio;

/// <summary>
/// The box's GPIO parts for /health: the chip and whether it opened, the button, the LEDs as lit now, the LCD's rows, and
/// every part that could not be opened or driven (one line each, naming its key).
/// </summary>
public sealed record GpioPanelStatus(
    string? Chip, bool ChipOpen, ButtonStatus? Button, LedStates? Leds, LcdStatus? Lcd, IReadOnlyList<string> Problems);

/// <summary>
/// The button: its line, its mode (<c>push_to_talk</c> or <c>toggle</c>), whether it works (else captioning is always on),
/// whether it is down now, whether captions are being made, and the presses seen.
/// </summary>
public sealed record ButtonStatus(int Pin, string Mode, bool Working, bool Down, bool Talking, int Presses);

/// <summary>The LCD: <c>/dev/i2c-N 0xAA</c>, whether it opened, and the rows it shows.</summary>
public sealed record LcdStatus(string Device, bool Open, IReadOnlyList<string> Rows);
