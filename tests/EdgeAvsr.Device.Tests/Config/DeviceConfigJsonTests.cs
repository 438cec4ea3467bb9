using System.Text;
using EdgeAvsr.Device.Config;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Device.Tests.Config;

/// <summary>The device sections of a JSON configuration file.</summary>
public sealed class DeviceConfigJsonTests
{
    private static DeviceConfig Read(string text)
    {
        using var json = CheckedJson.Parse(Encoding.UTF8.GetBytes(text), "serve.json", lenient: true);
        return DeviceConfigJson.Read(json, json.Root);
    }

    [Fact]
    public void Every_key_is_read()
    {
        var c = Read("""
            {
              "camera": { "kind": "command", "input": "gst-launch-1.0 -q nvarguscamerasrc ! fdsink", "width": 1280, "height": 720,
                          "frame_rate": 30, "pixel_format": "yuv420", "region": { "x": 560, "y": 400, "width": 160, "height": 160 } },
              "microphone": { "kind": "ffmpeg", "input": "clip.mp4", "input_options": ["-re"], "channels": 2, "sample_rate": 48000 },
              "gpio": { "chip": 0, "button_pin": 17, "button_active_low": false, "button_debounce_ms": 20, "button_hold_ms": 800,
                        "button_mode": "toggle", "listening_led_pin": 5, "thinking_led_pin": 6, "error_led_pin": 13, "led_active_low": true },
              "lcd": { "i2c_bus": 7, "i2c_address": "0x3F", "columns": 20, "rows": 4 },
              "devices": { "stall_timeout_ms": 1500, "restart_delay_ms": 250, "max_restart_delay_ms": 10000, "poll_interval_ms": 10,
                           "max_video_backlog": 3 },
            }
            """);
        Assert.Equal(new CameraConfig
        {
            Kind = CameraKind.Command, Input = "gst-launch-1.0 -q nvarguscamerasrc ! fdsink", Width = 1280, Height = 720, FrameRate = 30,
            PixelFormat = RawPixelFormat.Yuv420, Region = new CropRegion(560, 400, 160, 160), InputOptions = c.Camera!.InputOptions,
        }, c.Camera);
        Assert.Empty(c.Camera.InputOptions);
        Assert.Equal(["-re"], c.Microphone!.InputOptions);
        Assert.Equal((MicrophoneKind.Ffmpeg, "clip.mp4", 2, 48000), (c.Microphone.Kind, c.Microphone.Input, c.Microphone.Channels, c.Microphone.SampleRate));
        Assert.Equal(new GpioConfig
        {
            Chip = 0, ButtonPin = 17, ButtonActiveLow = false,
            ButtonDebounce = TimeSpan.FromMilliseconds(20), ButtonHoldThreshold = TimeSpan.FromMilliseconds(800),
            ButtonMode = ButtonMode.Toggle, ListeningLedPin = 5, ThinkingLedPin = 6, ErrorLedPin = 13, LedActiveLow = true,
        }, c.Gpio);
        Assert.Equal(new LcdConfig { Bus = 7, Address = 0x3F, Columns = 20, Rows = 4 }, c.Lcd);
        Assert.Equal(new DeviceTimings
        {
            StallTimeout = TimeSpan.FromMilliseconds(1500), RestartDelay = TimeSpan.FromMilliseconds(250), MaxRestartDelay = TimeSpan.FromSeconds(10),
            PollInterval = TimeSpan.FromMilliseconds(10), MaxVideoBacklog = 3,
        }, c.Timings);
    }

    [Fact]
    public void Absent_sections_stay_absent_and_defaults_apply()
    {
        var c = Read("""{ "microphone": { "input": "hw:1,0" }, "lcd": {} }""");
        Assert.Null(c.Camera);
        Assert.Null(c.Gpio);
        Assert.Equal(ButtonMode.PushToTalk, Read("""{ "gpio": { "button_pin": 4 } }""").Gpio!.ButtonMode);
        Assert.False(Read("""{ "gpio": {} }""").Gpio!.LedActiveLow);
        Assert.Equal(MicrophoneKind.Alsa, c.Microphone!.Kind);
        Assert.Equal(new LcdConfig(), c.Lcd);
        Assert.Equal(new DeviceTimings(), c.Timings);
    }

    [Theory]
    [InlineData("""{ "camera": { "input": "/dev/video0", "widht": 640 } }""", "serve.json: camera.widht is not a known key")]
    [InlineData("""{ "camera": { "kind": "usb", "input": "x" } }""", "serve.json: camera.kind is \"usb\", expected one of v4l2, ffmpeg, command")]
    [InlineData("""{ "camera": { "input": "/dev/video0", "width": "640" } }""", "serve.json: camera.width is a string (\"640\"), expected")]
    [InlineData("""{ "camera": { "input": "" } }""", "serve.json: camera.input: '' is not valid")]
    [InlineData("""{ "lcd": { "i2c_address": "27" } }""", "serve.json: lcd.i2c_address is \"27\", expected a number or a hex string")]
    [InlineData("""{ "lcd": { "i2c_address": 200 } }""", "serve.json: lcd.i2c_address is a number (200), expected an integer in 0..127")]
    [InlineData("""{ "gpio": { "button_pin": 17, "error_led_pin": 17 } }""", "serve.json: gpio.button_pin: line 17 is also gpio.error_led_pin")]
    [InlineData("""{ "microphone": { "input": "hw:0", "input_options": ["-re", 1] } }""",
        "serve.json: microphone.input_options[1] is a number (1), expected a string")]
    [InlineData("""{ "gpio": 5 }""", "serve.json: gpio is a number (5), expected an object")]
    [InlineData("""{ "gpio": { "button_pin": 17, "button_mode": "hold" } }""",
        "serve.json: gpio.button_mode is \"hold\", expected one of push_to_talk, toggle")]
    [InlineData("""{ "gpio": { "led_active_low": "yes" } }""", "serve.json: gpio.led_active_low is a string (\"yes\"), expected")]
    [InlineData("""{ "gpio": { "chip": 64 } }""", "serve.json: gpio.chip: '64' is not valid; expected a gpiochip number 0 to 63")]
    [InlineData("""{ "gpio": { "listening_led_pin": -1 } }""", "serve.json: gpio.listening_led_pin: '-1' is not valid")]
    public void A_bad_file_is_one_line_naming_file_and_key(string text, string expected)
    {
        var e = Assert.Throws<EdgeAvsrException>(() => Read(text));
        Assert.StartsWith(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }
}
