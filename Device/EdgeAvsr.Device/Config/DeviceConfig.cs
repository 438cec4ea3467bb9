using System.Globalization;
using EdgeAvsr.Runtime;

namespace EdgeAvsr.Device.Config;

/// <summary>How a camera is read.</summary>
public enum CameraKind
{
    /// <summary>A V4L2 device (<c>/dev/videoN</c>) through <c>ffmpeg -f v4l2</c>.</summary>
    V4l2,

    /// <summary>Any input ffmpeg opens (an RTSP URL, a file, a lavfi graph with <c>-f lavfi</c> in the input options).</summary>
    Ffmpeg,

    /// <summary>A shell command writing raw frames to stdout (e.g. a GStreamer <c>nvarguscamerasrc ... ! fdsink</c> pipeline).</summary>
    Command,
}

/// <summary>How a microphone is read.</summary>
public enum MicrophoneKind
{
    /// <summary>An ALSA device (<c>hw:1,0</c>, <c>default</c>) through <c>ffmpeg -f alsa</c>.</summary>
    Alsa,

    /// <summary>Any input ffmpeg opens (a file, a network stream, a lavfi graph).</summary>
    Ffmpeg,
}

/// <summary>Raw frame layouts a <see cref="CameraKind.Command"/> source may write.</summary>
public enum RawPixelFormat
{
    /// <summary>8-bit gray, width x height bytes per frame.</summary>
    Gray,

    /// <summary>Planar YUV 4:2:0 (I420, or NV12: the luma plane comes first either way); width x height x 3/2 bytes per frame.</summary>
    Yuv420,
}

/// <summary>
/// A rectangle of the camera's frame (in its pixels) that holds the mouth; it is cut out and scaled to the 96x96 crop.
/// </summary>
public sealed record CropRegion(int X, int Y, int Width, int Height);

/// <summary>The camera: where frames come from and which part of them is the mouth.</summary>
public sealed record CameraConfig
{
    public CameraKind Kind { get; init; } = CameraKind.V4l2;

    /// <summary>The device (<c>/dev/video0</c>), ffmpeg input (URL or file), or the shell command (<see cref="CameraKind.Command"/>).</summary>
    public string Input { get; init; } = "";

    /// <summary>ffmpeg options placed before <c>-i</c> (e.g. <c>-rtsp_transport tcp</c>, <c>-re</c>, <c>-f lavfi</c>); not for commands.</summary>
    public IReadOnlyList<string> InputOptions { get; init; } = [];

    /// <summary>The capture size asked of a V4L2 device, or the frame size a command writes (required for commands).</summary>
    public int? Width { get; init; }

    public int? Height { get; init; }

    /// <summary>The rate the camera is meant to deliver (a command's own rate; ffmpeg inputs are resampled to 25 fps).</summary>
    public double FrameRate { get; init; } = 25;

    /// <summary>A command's frame layout.</summary>
    public RawPixelFormat PixelFormat { get; init; } = RawPixelFormat.Gray;

    /// <summary>The part of the frame that holds the mouth; null: the whole frame (the camera looks at the mouth).</summary>
    public CropRegion? Region { get; init; }
}

/// <summary>The microphone: where samples come from (any rate and channel count; they become 16 kHz mono).</summary>
public sealed record MicrophoneConfig
{
    public MicrophoneKind Kind { get; init; } = MicrophoneKind.Alsa;

    /// <summary>The ALSA device (<c>hw:1,0</c>) or ffmpeg input.</summary>
    public string Input { get; init; } = "";

    /// <summary>ffmpeg options placed before <c>-i</c>.</summary>
    public IReadOnlyList<string> InputOptions { get; init; } = [];

    /// <summary>Channels asked of an ALSA device (null: its default).</summary>
    public int? Channels { get; init; }

    /// <summary>Capture rate asked of an ALSA device (null: its default); ffmpeg resamples to 16 kHz either way.</summary>
    public int? SampleRate { get; init; }
}

/// <summary>What the button on <see cref="GpioConfig.ButtonPin"/> does to captioning.</summary>
public enum ButtonMode
{
    /// <summary>Captions are made only while the button is held down; letting go ends the utterance in flight.</summary>
    PushToTalk,

    /// <summary>Each press switches captioning on or off (it starts off).</summary>
    Toggle,
}

/// <summary>GPIO pins (the chip's line numbers) of the push-to-talk button and the three LEDs; a null pin is not wired.</summary>
public sealed record GpioConfig
{
    /// <summary>The gpiochip number (<c>/dev/gpiochipN</c>) for the libgpiod driver.</summary>
    public int Chip { get; init; }

    public int? ButtonPin { get; init; }

    /// <summary>True when the button pulls the pin low (input with pull-up), the usual wiring.</summary>
    public bool ButtonActiveLow { get; init; } = true;

    public TimeSpan ButtonDebounce { get; init; } = TimeSpan.FromMilliseconds(50);

    public TimeSpan ButtonHoldThreshold { get; init; } = TimeSpan.FromMilliseconds(600);

    /// <summary>Push-to-talk (captions only while held) or toggle (a press switches captioning on or off).</summary>
    public ButtonMode ButtonMode { get; init; } = ButtonMode.PushToTalk;

    /// <summary>True when an LED lights with its pin low (wired from the supply to the pin), so lit is low and dark is high.</summary>
    public bool LedActiveLow { get; init; }

    public int? ListeningLedPin { get; init; }

    public int? ThinkingLedPin { get; init; }

    public int? ErrorLedPin { get; init; }
}

/// <summary>The 16x2 character LCD behind a PCF8574 I2C expander.</summary>
public sealed record LcdConfig
{
    /// <summary>The I2C bus (<c>/dev/i2c-N</c>).</summary>
    public int Bus { get; init; } = 1;

    /// <summary>The expander's 7-bit address (0x27 on most backpacks, 0x3F on others).</summary>
    public int Address { get; init; } = 0x27;

    public int Columns { get; init; } = 16;

    public int Rows { get; init; } = 2;
}

/// <summary>When a device counts as stalled and how quickly it is restarted.</summary>
public sealed record DeviceTimings
{
    /// <summary>A device that delivers nothing for longer than this is stalled (and killed, and restarted).</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The wait before the first restart; each further failed try doubles it, up to <see cref="MaxRestartDelay"/>.</summary>
    public TimeSpan RestartDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan MaxRestartDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the source looks at its devices and the clock (stall checks, video slots while no audio drives the clock).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Video frames held beyond the ones the audio clock has reached before the oldest are dropped (a fast camera).</summary>
    public int MaxVideoBacklog { get; init; } = 2;
}

/// <summary>
/// The devices a box has, as serve's configuration file carries them. Keys in errors are the file's: <c>camera.input</c>,
/// <c>gpio.button_pin</c>, <c>lcd.i2c_address</c>.
/// </summary>
public sealed record DeviceConfig
{
    public CameraConfig? Camera { get; init; }

    public MicrophoneConfig? Microphone { get; init; }

    public GpioConfig? Gpio { get; init; }

    public LcdConfig? Lcd { get; init; }

    public DeviceTimings Timings { get; init; } = new();

    /// <summary>Throws one <see cref="EdgeAvsrException"/> line naming the first bad key and what it must be.</summary>
    public void Validate()
    {
        if (Camera is { } c)
        {
            ValidateCamera(c);
        }
        if (Microphone is { } m)
        {
            Require(m.Input.Length > 0, "microphone.input", "", m.Kind == MicrophoneKind.Alsa ? "an ALSA device such as hw:1,0" : "an ffmpeg input");
            Require(m.Channels is null or (>= 1 and <= 32), "microphone.channels", m.Channels, "1 to 32");
            Require(m.SampleRate is null or (>= 8000 and <= 384000), "microphone.sample_rate", m.SampleRate, "8000 to 384000 Hz");
        }
        if (Gpio is { } g)
        {
            Require(g.Chip is >= 0 and < 64, "gpio.chip", g.Chip, "a gpiochip number 0 to 63");
            var pins = new (string Key, int? Pin)[]
            {
                ("gpio.button_pin", g.ButtonPin), ("gpio.listening_led_pin", g.ListeningLedPin),
                ("gpio.thinking_led_pin", g.ThinkingLedPin), ("gpio.error_led_pin", g.ErrorLedPin),
            };
            foreach (var (key, pin) in pins)
            {
                Require(pin is null or (>= 0 and < 1024), key, pin, "a line number 0 to 1023");
            }
            foreach (var (key, pin) in pins)
            {
                var clash = pins.FirstOrDefault(o => o.Key != key && o.Pin is not null && o.Pin == pin);
                if (pin is not null && clash.Key is not null)
                {
                    throw new EdgeAvsrException($"{key}: line {pin} is also {clash.Key}; each pin drives one thing");
                }
            }
            Require(g.ButtonDebounce >= TimeSpan.Zero && g.ButtonDebounce <= TimeSpan.FromSeconds(1), "gpio.button_debounce", g.ButtonDebounce,
                "0 to 1 s");
            Require(g.ButtonHoldThreshold > g.ButtonDebounce, "gpio.button_hold", g.ButtonHoldThreshold, "longer than gpio.button_debounce");
        }
        if (Lcd is { } l)
        {
            Require(l.Bus is >= 0 and < 256, "lcd.i2c_bus", l.Bus, "an I2C bus number 0 to 255");
            // 7-bit addresses; 0x00-0x07 and 0x78-0x7F are reserved by the I2C specification.
            Require(l.Address is >= 0x08 and <= 0x77, "lcd.i2c_address", $"0x{l.Address:X2}", "a 7-bit address 0x08 to 0x77 (PCF8574: 0x20-0x27, 0x38-0x3F)");
            Require(l.Columns is >= 8 and <= 40, "lcd.columns", l.Columns, "8 to 40");
            Require(l.Rows is >= 1 and <= 4, "lcd.rows", l.Rows, "1 to 4");
        }
        var t = Timings;
        Require(t.StallTimeout >= TimeSpan.FromMilliseconds(100) && t.StallTimeout <= TimeSpan.FromMinutes(1), "devices.stall_timeout", t.StallTimeout,
            "100 ms to 1 min");
        Require(t.RestartDelay > TimeSpan.Zero, "devices.restart_delay", t.RestartDelay, "more than 0");
        Require(t.MaxRestartDelay >= t.RestartDelay, "devices.max_restart_delay", t.MaxRestartDelay, "at least devices.restart_delay");
        Require(t.PollInterval > TimeSpan.Zero && t.PollInterval <= t.StallTimeout / 2, "devices.poll_interval", t.PollInterval,
            "more than 0 and at most half of devices.stall_timeout");
        Require(t.MaxVideoBacklog is >= 0 and <= 25, "devices.max_video_backlog", t.MaxVideoBacklog, "0 to 25 frames");
    }

    private static void ValidateCamera(CameraConfig c)
    {
        Require(c.Input.Length > 0, "camera.input", "", c.Kind switch
        {
            CameraKind.V4l2 => "a V4L2 device such as /dev/video0",
            CameraKind.Ffmpeg => "an ffmpeg input (URL or file)",
            _ => "a shell command writing raw frames to stdout",
        });
        Require(c.Kind != CameraKind.Command || c.InputOptions.Count == 0, "camera.input_options", string.Join(' ', c.InputOptions),
            "empty for a command source (its options belong in the command)");
        Require(c.Width is null or (>= 16 and <= 8192), "camera.width", c.Width, "16 to 8192 pixels");
        Require(c.Height is null or (>= 16 and <= 8192), "camera.height", c.Height, "16 to 8192 pixels");
        Require(c.Kind != CameraKind.Command || (c.Width is not null && c.Height is not null), "camera.width",
            c.Width, "set (with camera.height): a command's raw frames carry no size");
        Require(c.Width is null == c.Height is null, "camera.height", c.Height, "set together with camera.width");
        Require(c.PixelFormat != RawPixelFormat.Yuv420 || (c.Width % 2 == 0 && c.Height % 2 == 0), "camera.width",
            $"{c.Width}x{c.Height}", "even sides for yuv420 frames");
        Require(double.IsFinite(c.FrameRate) && c.FrameRate is >= 1 and <= 240, "camera.frame_rate", c.FrameRate, "1 to 240 frames per second");
        if (c.Region is { } r)
        {
            Require(r.X >= 0 && r.Y >= 0 && r.Width >= 8 && r.Height >= 8, "camera.region", $"{r.X},{r.Y} {r.Width}x{r.Height}",
                "x, y >= 0 and sides of 8 pixels or more");
            Require(c.Width is null || (r.X + r.Width <= c.Width && r.Y + r.Height <= c.Height), "camera.region",
                $"{r.X},{r.Y} {r.Width}x{r.Height}", $"inside the {c.Width}x{c.Height} frame");
        }
    }

    private static void Require(bool ok, string key, object? value, string expected)
    {
        if (!ok)
        {
            string shown = value switch
            {
                null => "(none)",
                IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                _ => value.ToString() ?? "",
            };
            throw new EdgeAvsrException($"{key}: '{shown}' is not valid; expected {expected}");
        }
    }
}
