using System.Device.Gpio;
using System.Device.I2c;
using EdgeAvsr.Device.Config;
using EdgeAvsr.Device.Gpio;

namespace EdgeAvsr.Device.Tests.Gpio;

/// <summary>The panel (button, LEDs, LCD together) on a fake chip and a fake backpack, and on parts that cannot be opened.</summary>
public sealed class GpioPanelTests
{
    private static readonly GpioConfig Pins = new()
    {
        ButtonPin = 17,
        ListeningLedPin = 5,
        ThinkingLedPin = 6,
        ErrorLedPin = 13,
        ButtonDebounce = TimeSpan.FromMilliseconds(20),
        ButtonHoldThreshold = TimeSpan.FromMilliseconds(400),
    };

    private static readonly int[] LedPins = [5, 6, 13];

    /// <summary>The first /dev/gpiochipN this machine lacks, so the real opening path fails the same way everywhere.</summary>
    internal static int MissingChip => Enumerable.Range(0, 64).First(n => !File.Exists($"/dev/gpiochip{n}"));

    private static (GpioPanel Panel, FakeGpioDriver Driver, FakeLcdI2cDevice Lcd) OpenOnFakes(GpioConfig gpio)
    {
        var driver = new FakeGpioDriver();
        var lcd = new FakeLcdI2cDevice();
        var panel = GpioPanel.Open(new DeviceConfig { Gpio = gpio, Lcd = new LcdConfig() }, _ => driver, _ => lcd);
        return (panel, driver, lcd);
    }

    private static PinValue[] Levels(FakeGpioDriver driver) => [.. LedPins.Select(driver.ValueOf)];

    [Fact]
    public void A_state_in_is_led_levels_and_lcd_rows_out()
    {
        var (panel, driver, lcd) = OpenOnFakes(Pins);
        using (panel)
        {
            Assert.Empty(panel.Problems);
            panel.Show(new PanelState(new LedStates(Listening: true, Thinking: false, Error: false), "AVSR listening", ""));
            Assert.Equal([PinValue.High, PinValue.Low, PinValue.Low], Levels(driver));
            Assert.Equal(["AVSR listening  ", "                "], lcd.Rows);

            panel.Show(new PanelState(new LedStates(Listening: true, Thinking: true, Error: false), null, "place blue in a four now"));
            Assert.Equal([PinValue.High, PinValue.High, PinValue.Low], Levels(driver));
            Assert.Equal(["place blue in a ", "four now        "], lcd.Rows);

            // A state line takes the first row; the caption's last line stays on the second.
            panel.Show(new PanelState(new LedStates(Listening: true, Thinking: false, Error: true), "ASR: no camera", "place blue in a four now"));
            Assert.Equal([PinValue.High, PinValue.Low, PinValue.High], Levels(driver));
            Assert.Equal(["ASR: no camera  ", "four now        "], lcd.Rows);

            var status = panel.Status;
            Assert.Equal(new LedStates(Listening: true, Thinking: false, Error: true), status.Leds);
            Assert.Equal(lcd.Rows, status.Lcd!.Rows);
            Assert.True(status.ChipOpen);
            Assert.Equal("/dev/i2c-1 0x27", status.Lcd.Device);
        }
        // Closed: the LEDs go dark and every line is let go.
        Assert.Equal([PinValue.Low, PinValue.Low, PinValue.Low], Levels(driver));
        Assert.Empty(driver.OpenPins);
    }

    [Fact]
    public void Active_low_leds_are_lit_low()
    {
        var (panel, driver, _) = OpenOnFakes(Pins with { LedActiveLow = true });
        using (panel)
        {
            Assert.Equal([PinValue.High, PinValue.High, PinValue.High], Levels(driver));
            panel.Show(new PanelState(new LedStates(Listening: true, Thinking: false, Error: true), null, ""));
            Assert.Equal([PinValue.Low, PinValue.High, PinValue.Low], Levels(driver));
        }
        Assert.Equal([PinValue.High, PinValue.High, PinValue.High], Levels(driver));
    }

    [Fact]
    public async Task Push_to_talk_talks_while_the_button_is_held()
    {
        var (panel, driver, _) = OpenOnFakes(Pins);
        using (panel)
        {
            Assert.Equal(ButtonMode.PushToTalk, panel.Talk.Mode);
            Assert.False(panel.Talk.Talking);
            driver.Drive(17, PinValue.Low);
            Assert.True(panel.Talk.Talking);
            Assert.Equal(new ButtonStatus(17, "push_to_talk", Working: true, Down: true, Talking: true, Presses: 1), panel.Status.Button);
            driver.Drive(17, PinValue.High);
            Assert.False(panel.Talk.Talking);
            Assert.Equal(new ButtonStatus(17, "push_to_talk", Working: true, Down: false, Talking: false, Presses: 1), panel.Status.Button);

            // A hold is still one press: talking lasts until the release.
            await Task.Delay(50);
            driver.Drive(17, PinValue.Low);
            await Task.Delay(500);
            Assert.True(panel.Talk.Talking);
            driver.Drive(17, PinValue.High);
            Assert.False(panel.Talk.Talking);
            Assert.Equal(2, panel.Talk.Presses);
        }
    }

    [Fact]
    public async Task Toggle_switches_talking_at_each_press()
    {
        var (panel, driver, _) = OpenOnFakes(Pins with { ButtonMode = ButtonMode.Toggle });
        using (panel)
        {
            var seen = new List<bool>();
            panel.Talk.Changed += (_, talking) =>
            {
                lock (seen)
                {
                    seen.Add(talking);
                }
            };
            Assert.False(panel.Talk.Talking);
            driver.Drive(17, PinValue.Low);
            driver.Drive(17, PinValue.High);
            Assert.True(panel.Talk.Talking);
            await Task.Delay(50);
            driver.Drive(17, PinValue.Low);
            driver.Drive(17, PinValue.High);
            Assert.False(panel.Talk.Talking);
            lock (seen)
            {
                Assert.Equal([true, false], seen);
            }
            Assert.Equal("toggle", panel.Status.Button!.Mode);
        }
    }

    [Fact]
    public void A_chip_that_does_not_exist_is_a_problem_not_a_failure_and_captioning_stays_on()
    {
        int chip = MissingChip;
        var lcd = new FakeLcdI2cDevice();
        // The real opening path (libgpiod on /dev/gpiochipN), on a chip this machine lacks.
        using var panel = GpioPanel.Open(new DeviceConfig { Gpio = Pins with { Chip = chip }, Lcd = new LcdConfig() }, openI2c: _ => lcd);
        string problem = Assert.Single(panel.Problems);
        Assert.StartsWith($"gpio.chip: /dev/gpiochip{chip} does not exist", problem, StringComparison.Ordinal);
        var status = panel.Status;
        Assert.Equal($"/dev/gpiochip{chip}", status.Chip);
        Assert.False(status.ChipOpen);
        Assert.Null(status.Leds);
        // The button is configured but cannot work: captions are not held back by it.
        Assert.Equal(new ButtonStatus(17, "push_to_talk", Working: false, Down: false, Talking: true, Presses: 0), status.Button);
        Assert.Null(panel.Talk.Mode);
        Assert.True(panel.Talk.Talking);

        // The LCD still works without the chip.
        panel.Show(new PanelState(new LedStates(true, false, false), null, "bin red at g six"));
        Assert.Equal(["bin red at g six", "                "], lcd.Rows);
    }

    [Fact]
    public void Drivers_and_devices_that_throw_are_named_in_the_problems()
    {
        using var noLibrary = GpioPanel.Open(new DeviceConfig { Gpio = Pins, Lcd = new LcdConfig { Bus = 3, Address = 0x3F } },
            _ => throw new DllNotFoundException("libgpiod.so.2: cannot open shared object file"),
            _ => throw new IOException("No such file or directory"));
        Assert.Equal(
        [
            "gpio.chip: /dev/gpiochip0 cannot be opened (DllNotFoundException: libgpiod.so.2: cannot open shared object file)",
            "lcd.i2c_bus: /dev/i2c-3 cannot be opened (No such file or directory)",
        ], noLibrary.Problems);
        noLibrary.Show(new PanelState(new LedStates(true, true, true), "x", "y"));

        // An LCD that stops answering while shown: named once, the LEDs are still driven.
        var driver = new FakeGpioDriver();
        var failing = new FakeLcdI2cDevice();
        using var panel = GpioPanel.Open(new DeviceConfig { Gpio = Pins, Lcd = new LcdConfig() }, _ => driver, _ => failing);
        failing.Unplugged = true;
        panel.Show(new PanelState(new LedStates(true, false, true), null, "one"));
        panel.Show(new PanelState(new LedStates(false, false, true), null, "two"));
        Assert.Equal([PinValue.Low, PinValue.Low, PinValue.High], Levels(driver));
        Assert.Equal("lcd: /dev/i2c-1 0x27 cannot be driven (IOException: the backpack stopped answering)", Assert.Single(panel.Problems));
    }

    [Fact]
    public void The_panel_opens_a_chip_through_a_fake_driver()
    {
        // The twin of the hardware test below: the same opening, on the fake chip.
        var driver = new FakeGpioDriver();
        using var panel = GpioPanel.Open(new DeviceConfig { Gpio = new GpioConfig() }, _ => driver);
        Assert.Empty(panel.Problems);
        Assert.True(panel.Status.ChipOpen);
        Assert.Equal("/dev/gpiochip0", panel.Status.Chip);
    }

    [GpioTests.GpioHardwareFact]
    public void The_panel_opens_a_real_chip_through_libgpiod()
    {
        // No lines are configured, so nothing on the board is claimed or driven.
        using var panel = GpioPanel.Open(new DeviceConfig { Gpio = new GpioConfig() });
        Assert.Empty(panel.Problems);
        Assert.True(panel.Status.ChipOpen);
    }
}
