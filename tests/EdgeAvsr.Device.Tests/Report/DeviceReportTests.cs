using EdgeAvsr.Device.Report;

namespace EdgeAvsr.Device.Tests.Report;

/// <summary>The device report on made-up machines (a folder standing for /) and on this one.</summary>
public sealed class DeviceReportTests : IDisposable
{
    private readonly TempDir _root = new();

    public void Dispose() => _root.Dispose();

    private void Touch(string path)
    {
        string full = Path.Combine(_root.Path, path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, "");
    }

    [Fact]
    public void A_jetson_like_box_uses_libgpiod_and_lists_its_devices()
    {
        string[] files =
            ["dev/gpiochip0", "dev/gpiochip1", "dev/i2c-1", "dev/i2c-7", "dev/video10", "dev/video2", "usr/lib/aarch64-linux-gnu/libgpiod.so.2", "bin/ffmpeg"];
        foreach (string p in files)
        {
            Touch(p);
        }
        Directory.CreateDirectory(Path.Combine(_root.Path, "proc/asound"));
        File.WriteAllLines(Path.Combine(_root.Path, "proc/asound/cards"),
        [
            " 0 [tegrahdaxnx    ]: tegra-hda-xnx - NVIDIA Jetson Orin Nano HDA",
            "                      NVIDIA Jetson Orin Nano HDA at 0x3518000 irq 95",
            " 1 [Device         ]: USB-Audio - USB PnP Sound Device",
            "                      C-Media Electronics Inc. USB PnP Sound Device at usb-3610000.usb-2.3, full speed",
        ]);
        var report = DeviceReport.Probe(_root.Path, Path.Combine(_root.Path, "bin"));

        Assert.Equal(["/dev/gpiochip0", "/dev/gpiochip1"], report.GpioChips);
        Assert.Equal(GpioDriverChoice.Libgpiod, report.GpioDriver);
        Assert.EndsWith("usr/lib/aarch64-linux-gnu/libgpiod.so.2", report.Libgpiod, StringComparison.Ordinal);
        Assert.Equal(["/dev/i2c-1", "/dev/i2c-7"], report.I2cBuses);
        Assert.Equal(["/dev/video2", "/dev/video10"], report.VideoDevices);
        Assert.Equal(["hw:0 tegrahdaxnx (NVIDIA Jetson Orin Nano HDA)", "hw:1 Device (USB PnP Sound Device)"], report.SoundCards);
        Assert.Equal(Path.Combine(_root.Path, "bin", "ffmpeg"), report.Tools.Single(t => t.Name == "ffmpeg").Path);
        Assert.Null(report.Tools.Single(t => t.Name == "gst-launch-1.0").Path);
        var lines = report.Lines().ToList();
        Assert.StartsWith("gpio: /dev/gpiochip0, /dev/gpiochip1 through libgpiod", lines[0], StringComparison.Ordinal);
        Assert.Contains("camera: /dev/video2, /dev/video10 (v4l2 through ffmpeg)", lines);
        Assert.Contains("gst-launch-1.0: not on PATH", lines);
    }

    [Fact]
    public void Gpio_falls_back_to_sysfs_without_libgpiod_and_to_none_without_chips()
    {
        Touch("dev/gpiochip0");
        Assert.Equal(GpioDriverChoice.Sysfs, DeviceReport.Probe(_root.Path, "").GpioDriver);
        File.Delete(Path.Combine(_root.Path, "dev/gpiochip0"));
        var none = DeviceReport.Probe(_root.Path, "");
        Assert.Equal(GpioDriverChoice.None, none.GpioDriver);
        Assert.Empty(none.SoundCards);
        Assert.Equal("gpio: none (no /dev/gpiochip*): button and LEDs unavailable", none.Lines().First());
        Directory.CreateDirectory(Path.Combine(_root.Path, "sys/class/gpio"));
        Assert.Equal(GpioDriverChoice.Sysfs, DeviceReport.Probe(_root.Path, "").GpioDriver);
    }

    [Fact]
    public void This_machine_is_reported_as_it_is()
    {
        var report = DeviceReport.Probe();
        Assert.Equal(Directory.Exists("/dev") ? Directory.GetFiles("/dev", "gpiochip*").Length : 0, report.GpioChips.Count);
        // ffmpeg is installed by ./build.sh setup; the report finds the same one the shell does.
        string which = Tools.Run("sh", "-c", "command -v ffmpeg").Trim();
        Assert.Equal(which, report.Tools.Single(t => t.Name == "ffmpeg").Path);
    }
}
