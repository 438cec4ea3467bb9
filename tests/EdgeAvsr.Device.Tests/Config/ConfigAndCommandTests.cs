using EdgeAvsr.Device.Config;
using EdgeAvsr.Device.Sources;
using EdgeAvsr.Runtime;

namespace EdgeAvsr.Device.Tests.Config;

/// <summary>Config errors name their key; the capture commands carry the config.</summary>
public sealed class ConfigAndCommandTests
{
    public static TheoryData<string, DeviceConfig> BadConfigs() => new()
    {
        { "camera.input", new DeviceConfig { Camera = new CameraConfig() } },
        { "camera.width", new DeviceConfig { Camera = new CameraConfig { Kind = CameraKind.Command, Input = "gst-launch-1.0 ..." } } },
        { "camera.height", new DeviceConfig { Camera = new CameraConfig { Input = "/dev/video0", Width = 640 } } },
        { "camera.frame_rate", new DeviceConfig { Camera = new CameraConfig { Input = "/dev/video0", FrameRate = 0 } } },
        {
            "camera.region",
            new DeviceConfig { Camera = new CameraConfig { Input = "/dev/video0", Width = 640, Height = 480, Region = new CropRegion(600, 0, 96, 96) } }
        },
        {
            "camera.input_options",
            new DeviceConfig { Camera = new CameraConfig { Kind = CameraKind.Command, Input = "x", Width = 96, Height = 96, InputOptions = ["-re"] } }
        },
        { "microphone.channels", new DeviceConfig { Microphone = new MicrophoneConfig { Input = "hw:1,0", Channels = 0 } } },
        { "microphone.sample_rate", new DeviceConfig { Microphone = new MicrophoneConfig { Input = "hw:1,0", SampleRate = 1000 } } },
        { "gpio.error_led_pin", new DeviceConfig { Gpio = new GpioConfig { ErrorLedPin = -1 } } },
        { "gpio.button_pin", new DeviceConfig { Gpio = new GpioConfig { ButtonPin = 5, ListeningLedPin = 5 } } },
        { "gpio.button_hold", new DeviceConfig { Gpio = new GpioConfig { ButtonHoldThreshold = TimeSpan.FromMilliseconds(10) } } },
        { "lcd.i2c_address", new DeviceConfig { Lcd = new LcdConfig { Address = 0x80 } } },
        { "lcd.i2c_bus", new DeviceConfig { Lcd = new LcdConfig { Bus = -1 } } },
        { "devices.stall_timeout", new DeviceConfig { Timings = new DeviceTimings { StallTimeout = TimeSpan.Zero } } },
        { "devices.max_restart_delay", new DeviceConfig { Timings = new DeviceTimings { MaxRestartDelay = TimeSpan.FromMilliseconds(1) } } },
        { "devices.poll_interval", new DeviceConfig { Timings = new DeviceTimings { PollInterval = TimeSpan.FromSeconds(1) } } },
    };

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public void A_bad_value_is_one_line_naming_its_key(string key, DeviceConfig config)
    {
        var e = Assert.Throws<EdgeAvsrException>(config.Validate);
        Assert.StartsWith(key + ":", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void A_full_config_is_valid()
    {
        new DeviceConfig
        {
            Camera = new CameraConfig { Input = "/dev/video0", Width = 640, Height = 480, Region = new CropRegion(272, 300, 96, 96) },
            Microphone = new MicrophoneConfig { Input = "hw:1,0", Channels = 2, SampleRate = 48000 },
            Gpio = new GpioConfig { ButtonPin = 17, ListeningLedPin = 5, ThinkingLedPin = 6, ErrorLedPin = 13 },
            Lcd = new LcdConfig(),
        }.Validate();
    }

    [Fact]
    public void Commands_read_v4l2_alsa_and_any_input_into_crops_and_16k_mono()
    {
        var v4l2 = CaptureCommands.Camera(new CameraConfig { Input = "/dev/video2", Width = 640, Height = 480, Region = new CropRegion(10, 20, 200, 100) });
        Assert.Equal("ffmpeg", v4l2.Program);
        var a = v4l2.Arguments.ToList();
        Assert.Equal(["-f", "v4l2", "-framerate", "25", "-video_size", "640x480", "-i", "/dev/video2"], a.GetRange(a.IndexOf("-f"), 8));
        Assert.Equal("fps=25,crop=200:100:10:20,scale=96:96:flags=bilinear,format=gray", a[a.IndexOf("-vf") + 1]);
        Assert.Equal("pipe:1", a[^1]);

        var rtsp = CaptureCommands.Camera(new CameraConfig { Kind = CameraKind.Ffmpeg, Input = "rtsp://cam/1", InputOptions = ["-rtsp_transport", "tcp"] });
        Assert.DoesNotContain("v4l2", rtsp.Arguments);
        Assert.Equal(["-rtsp_transport", "tcp", "-i", "rtsp://cam/1"], rtsp.Arguments.Skip(4).Take(4));

        var gst = CaptureCommands.Camera(
            new CameraConfig { Kind = CameraKind.Command, Input = "gst-launch-1.0 -q nvarguscamerasrc ! fdsink", Width = 1280, Height = 720 });
        Assert.Equal(new DeviceCommand("/bin/sh", ["-c", "gst-launch-1.0 -q nvarguscamerasrc ! fdsink"]).ToString(), gst.ToString());

        var alsa = CaptureCommands.Microphone(new MicrophoneConfig { Input = "hw:1,0", Channels = 2, SampleRate = 48000 }).Arguments.ToList();
        Assert.Equal(["-f", "alsa", "-channels", "2", "-sample_rate", "48000", "-i", "hw:1,0"], alsa.GetRange(alsa.IndexOf("-f"), 8));
        Assert.Equal(["-ac", "1", "-ar", "16000", "-f", "f32le"], alsa.GetRange(alsa.IndexOf("-ac"), 6));
    }

    [Fact]
    public void A_command_camera_frame_is_cut_and_scaled_like_ffmpeg()
    {
        // A 192x144 I420 frame whose luma is a horizontal ramp; the region's crop scaled 2:1 must match ffmpeg's bilinear scale.
        var camera = new CameraConfig
        {
            Kind = CameraKind.Command, Input = "x", Width = 192, Height = 144, PixelFormat = RawPixelFormat.Yuv420, Region = new CropRegion(0, 24, 192, 96),
        };
        Assert.Equal(192 * 144 * 3 / 2, CaptureCommands.FrameBytes(camera));
        var frame = new byte[CaptureCommands.FrameBytes(camera)];
        for (int y = 0; y < 144; y++)
        {
            for (int x = 0; x < 192; x++)
            {
                frame[y * 192 + x] = (byte)(x + y % 7);
            }
        }
        frame.AsSpan(192 * 144).Fill(77);
        var crop = CaptureCommands.ToCrop(camera, frame);
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("in.gray"), frame.AsSpan(0, 192 * 144).ToArray());
        Tools.Run("ffmpeg", "-v", "error", "-f", "rawvideo", "-pix_fmt", "gray", "-s", "192x144", "-i", dir.File("in.gray"), "-vf",
            "crop=192:96:0:24,scale=96:96:flags=bilinear+accurate_rnd+full_chroma_int", "-f", "rawvideo", "-pix_fmt", "gray", "-y", dir.File("out.gray"));
        var reference = File.ReadAllBytes(dir.File("out.gray"));
        Assert.Equal(96 * 96, crop.Length);
        int worst = Enumerable.Range(0, crop.Length).Max(i => Math.Abs(crop[i] - reference[i]));
        Assert.True(worst <= 2, $"differs from ffmpeg by up to {worst} levels");
    }
}
