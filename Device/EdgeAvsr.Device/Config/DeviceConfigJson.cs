using System.Globalization;
using System.Text.Json;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Device.Config;

/// <summary>
/// A <see cref="DeviceConfig"/> from the sections of a JSON configuration (serve's file): <c>camera</c>, <c>microphone</c>,
/// <c>gpio</c>, <c>lcd</c>, <c>devices</c>, each optional, keys in snake_case as <see cref="DeviceConfig.Validate"/> names them,
/// durations in milliseconds (<c>_ms</c>), the I2C address as a number or a "0x27" string. Unknown keys are errors (a typo must
/// not silently leave a default). No reflection: NativeAOT-safe.
/// </summary>
public static class DeviceConfigJson
{
    private static readonly Dictionary<string, string[]> Keys = new(StringComparer.Ordinal)
    {
        ["camera"] = ["kind", "input", "input_options", "width", "height", "frame_rate", "pixel_format", "region"],
        ["microphone"] = ["kind", "input", "input_options", "channels", "sample_rate"],
        ["gpio"] =
        [
            "chip", "button_pin", "button_active_low", "button_debounce_ms", "button_hold_ms", "button_mode", "listening_led_pin", "thinking_led_pin",
            "error_led_pin", "led_active_low",
        ],
        ["lcd"] = ["i2c_bus", "i2c_address", "columns", "rows"],
        ["devices"] = ["stall_timeout_ms", "restart_delay_ms", "max_restart_delay_ms", "poll_interval_ms", "max_video_backlog"],
    };

    /// <summary>Reads a device settings file (its top level holds the sections) and validates it.</summary>
    public static DeviceConfig Read(string path)
    {
        using var json = CheckedJson.Read(path, what: "device settings");
        return Read(json, json.Root);
    }

    /// <summary>Reads the sections present under <paramref name="root"/> and validates the result.</summary>
    public static DeviceConfig Read(CheckedJson json, JsonElement root)
    {
        ArgumentNullException.ThrowIfNull(json);
        var config = new DeviceConfig();
        if (Section(json, root, "camera") is { } c)
        {
            config = config with
            {
                Camera = new CameraConfig
                {
                    Kind = Enum(json, c, "camera.kind", CameraKind.V4l2,
                        ("v4l2", CameraKind.V4l2), ("ffmpeg", CameraKind.Ffmpeg), ("command", CameraKind.Command)),
                    Input = json.OptionalString(c, "camera.input") ?? "",
                    InputOptions = Strings(json, c, "camera.input_options"),
                    Width = json.OptionalInt(c, "camera.width"),
                    Height = json.OptionalInt(c, "camera.height"),
                    FrameRate = json.OptionalNumber(c, "camera.frame_rate") ?? 25,
                    PixelFormat = Enum(json, c, "camera.pixel_format", RawPixelFormat.Gray, ("gray", RawPixelFormat.Gray), ("yuv420", RawPixelFormat.Yuv420)),
                    Region = CheckedJson.Find(c, "region") is { } r
                        ? new CropRegion(json.Int(json.Object(r, "camera.region"), "camera.region.x"), json.Int(r, "camera.region.y"),
                            json.Int(r, "camera.region.width"), json.Int(r, "camera.region.height"))
                        : null,
                },
            };
        }
        if (Section(json, root, "microphone") is { } m)
        {
            config = config with
            {
                Microphone = new MicrophoneConfig
                {
                    Kind = Enum(json, m, "microphone.kind", MicrophoneKind.Alsa, ("alsa", MicrophoneKind.Alsa), ("ffmpeg", MicrophoneKind.Ffmpeg)),
                    Input = json.OptionalString(m, "microphone.input") ?? "",
                    InputOptions = Strings(json, m, "microphone.input_options"),
                    Channels = json.OptionalInt(m, "microphone.channels"),
                    SampleRate = json.OptionalInt(m, "microphone.sample_rate"),
                },
            };
        }
        if (Section(json, root, "gpio") is { } g)
        {
            var d = new GpioConfig();
            config = config with
            {
                Gpio = new GpioConfig
                {
                    Chip = json.OptionalInt(g, "gpio.chip") ?? d.Chip,
                    ButtonPin = json.OptionalInt(g, "gpio.button_pin"),
                    ButtonActiveLow = json.OptionalBool(g, "gpio.button_active_low") ?? d.ButtonActiveLow,
                    ButtonDebounce = Milliseconds(json, g, "gpio.button_debounce_ms") ?? d.ButtonDebounce,
                    ButtonHoldThreshold = Milliseconds(json, g, "gpio.button_hold_ms") ?? d.ButtonHoldThreshold,
                    ButtonMode = Enum(json, g, "gpio.button_mode", d.ButtonMode, ("push_to_talk", ButtonMode.PushToTalk), ("toggle", ButtonMode.Toggle)),
                    ListeningLedPin = json.OptionalInt(g, "gpio.listening_led_pin"),
                    ThinkingLedPin = json.OptionalInt(g, "gpio.thinking_led_pin"),
                    ErrorLedPin = json.OptionalInt(g, "gpio.error_led_pin"),
                    LedActiveLow = json.OptionalBool(g, "gpio.led_active_low") ?? d.LedActiveLow,
                },
            };
        }
        if (Section(json, root, "lcd") is { } l)
        {
            var d = new LcdConfig();
            config = config with
            {
                Lcd = new LcdConfig
                {
                    Bus = json.OptionalInt(l, "lcd.i2c_bus") ?? d.Bus,
                    Address = Address(json, l) ?? d.Address,
                    Columns = json.OptionalInt(l, "lcd.columns") ?? d.Columns,
                    Rows = json.OptionalInt(l, "lcd.rows") ?? d.Rows,
                },
            };
        }
        if (Section(json, root, "devices") is { } t)
        {
            var d = new DeviceTimings();
            config = config with
            {
                Timings = new DeviceTimings
                {
                    StallTimeout = Milliseconds(json, t, "devices.stall_timeout_ms") ?? d.StallTimeout,
                    RestartDelay = Milliseconds(json, t, "devices.restart_delay_ms") ?? d.RestartDelay,
                    MaxRestartDelay = Milliseconds(json, t, "devices.max_restart_delay_ms") ?? d.MaxRestartDelay,
                    PollInterval = Milliseconds(json, t, "devices.poll_interval_ms") ?? d.PollInterval,
                    MaxVideoBacklog = json.OptionalInt(t, "devices.max_video_backlog") ?? d.MaxVideoBacklog,
                },
            };
        }
        try
        {
            config.Validate();
        }
        catch (EdgeAvsrException e)
        {
            throw new EdgeAvsrException($"{json.Source}: {e.Message}", e);
        }
        return config;
    }

    private static JsonElement? Section(CheckedJson json, JsonElement root, string name)
    {
        if (CheckedJson.Find(root, name) is not { } e)
        {
            return null;
        }
        json.Object(e, name);
        foreach (var p in e.EnumerateObject())
        {
            if (!Keys[name].Contains(p.Name, StringComparer.Ordinal))
            {
                throw new EdgeAvsrException($"{json.Source}: {name}.{p.Name} is not a known key; expected one of {string.Join(", ", Keys[name])}");
            }
        }
        return e;
    }

    private static T Enum<T>(CheckedJson json, JsonElement parent, string path, T fallback, params (string Name, T Value)[] names)
    {
        if (json.OptionalString(parent, path) is not { } text)
        {
            return fallback;
        }
        foreach (var (name, value) in names)
        {
            if (string.Equals(name, text, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }
        throw new EdgeAvsrException($"{json.Source}: {path} is \"{text}\", expected one of {string.Join(", ", names.Select(n => n.Name))}");
    }

    private static string[] Strings(CheckedJson json, JsonElement parent, string path) =>
        CheckedJson.Find(parent, path[(path.LastIndexOf('.') + 1)..]) is null
            ? []
            : [.. json.Array(parent, path).EnumerateArray().Select((e, i) => json.StringValue(e, $"{path}[{i}]"))];

    private static TimeSpan? Milliseconds(CheckedJson json, JsonElement parent, string path) =>
        json.OptionalNumber(parent, path) is { } ms ? TimeSpan.FromMilliseconds(ms) : null;

    private static int? Address(CheckedJson json, JsonElement lcd)
    {
        if (CheckedJson.Find(lcd, "i2c_address") is not { } e)
        {
            return null;
        }
        if (e.ValueKind == JsonValueKind.String)
        {
            string text = e.GetString()!;
            return text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
                && int.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int hex)
                ? hex
                : throw new EdgeAvsrException($"{json.Source}: lcd.i2c_address is \"{text}\", expected a number or a hex string such as \"0x27\"");
        }
        return json.IntValue(e, "lcd.i2c_address", 0, 127);
    }
}
