using System.Device.Gpio;
using EdgeAvsr.Device.Config;
using EdgeAvsr.Device.Gpio;
using EdgeAvsr.Runtime;

namespace EdgeAvsr.Device.Tests.Gpio;

/// <summary>The button, LEDs and LCD through the real bindings on a fake GPIO chip and a fake I2C backpack.</summary>
public sealed class GpioTests
{
    private static readonly GpioConfig Pins = new()
    {
        ButtonPin = 17,
        ListeningLedPin = 5,
        ThinkingLedPin = 6,
        ErrorLedPin = 13,
        ButtonDebounce = TimeSpan.FromMilliseconds(30),
        ButtonHoldThreshold = TimeSpan.FromMilliseconds(150),
    };

    [Fact]
    public void The_lcd_shows_the_caption_wrapped_on_two_rows()
    {
        var i2c = new FakeLcdI2cDevice();
        using var lcd = new CaptionLcd(i2c, new LcdConfig());
        Assert.True(i2c.FourBitMode);
        Assert.True(i2c.DisplayOn);
        Assert.True(i2c.BacklightOn);
        Assert.Equal(["                ", "                "], i2c.Rows);

        lcd.Show("place blue in a four now");
        Assert.Equal(["place blue in a ", "four now        "], i2c.Rows);
        Assert.Equal(lcd.Shown, i2c.Rows);

        // A longer caption keeps its newest words; accents and symbols become ASCII.
        lcd.Show("set white with p two soon — café naïve ünter €5");
        Assert.Equal(["two soon - cafe ", "naive unter ?5  "], i2c.Rows);

        // A word longer than a row is cut across rows (its end kept).
        lcd.Show("supercalifragilisticexpialidocious");
        Assert.Equal(["sticexpialidocio", "us              "], i2c.Rows);
    }

    [Fact]
    public void Only_rows_that_change_are_rewritten()
    {
        var i2c = new FakeLcdI2cDevice();
        using var lcd = new CaptionLcd(i2c, new LcdConfig());
        lcd.Show("bin red at g nine again");
        int before = i2c.Written.Count;
        lcd.Show("bin red at g nine again");
        Assert.Equal(before, i2c.Written.Count);
        lcd.Show("bin red at g six");
        Assert.Equal(["bin red at g six", "                "], i2c.Rows);
    }

    [Fact]
    public void Layout_pads_wraps_and_keeps_the_end()
    {
        Assert.Equal(["", ""], CaptionLcd.Layout("", 4, 2).Select(r => r.Trim()));
        Assert.Equal(["ab c", "d   "], CaptionLcd.Layout("ab  c\td", 4, 2));
        Assert.Equal(["ef", "gh"], CaptionLcd.Layout("ab cd ef gh", 2, 2));
        Assert.Equal("Ecole ? \"x\"", CaptionLcd.ToAscii("École \u4e2d \u201Cx\u201D"));
        Assert.Equal("LodzSi Ae a", CaptionLcd.ToAscii("ŁódźŠĳ Ae\u0301 a\u00A0"[..^1]));
    }

    [Fact]
    public async Task The_button_reports_press_hold_and_release_debounced()
    {
        var driver = new FakeGpioDriver();
        using var controller = new GpioController(driver);
        using var button = new PushToTalkButton(Pins, controller);
        Assert.Equal(PinMode.InputPullUp, driver.ModeOf(17));
        var seen = new List<ButtonAction>();
        button.Changed += (_, a) =>
        {
            lock (seen)
            {
                seen.Add(a);
            }
        };

        // Pulled up: pressing pulls the line low.
        driver.Drive(17, PinValue.Low);
        Assert.True(button.IsDown);
        await WaitForAsync(() => Count(seen, ButtonAction.Held) == 1, TimeSpan.FromSeconds(5));
        driver.Drive(17, PinValue.High);
        Assert.False(button.IsDown);
        // A bounce right after the release is not a new press.
        driver.Drive(17, PinValue.Low);
        driver.Drive(17, PinValue.High);
        Assert.Equal([ButtonAction.Pressed, ButtonAction.Held, ButtonAction.Released], Snapshot(seen));

        // After the debounce time a short press is pressed and released, never held.
        await Task.Delay(60);
        driver.Drive(17, PinValue.Low);
        driver.Drive(17, PinValue.High);
        await Task.Delay(300);
        Assert.Equal([ButtonAction.Pressed, ButtonAction.Held, ButtonAction.Released, ButtonAction.Pressed, ButtonAction.Released], Snapshot(seen));
    }

    [Fact]
    public void The_leds_follow_the_state_and_go_dark_when_disposed()
    {
        var driver = new FakeGpioDriver();
        using var controller = new GpioController(driver);
        var leds = new StatusLeds(Pins, controller);
        Assert.All([5, 6, 13], p => Assert.Equal(PinMode.Output, driver.ModeOf(p)));
        leds.Show(new LedStates(Listening: true, Thinking: false, Error: false));
        Assert.Equal([PinValue.High, PinValue.Low, PinValue.Low], new[] { 5, 6, 13 }.Select(driver.ValueOf));
        leds.Show(new LedStates(Listening: true, Thinking: true, Error: true));
        Assert.Equal([PinValue.High, PinValue.High, PinValue.High], new[] { 5, 6, 13 }.Select(driver.ValueOf));
        leds.Show(new LedStates(Listening: false, Thinking: false, Error: true));
        Assert.Equal([PinValue.Low, PinValue.Low, PinValue.High], new[] { 5, 6, 13 }.Select(driver.ValueOf));
        leds.Dispose();
        Assert.Equal([PinValue.Low, PinValue.Low, PinValue.Low], new[] { 5, 6, 13 }.Select(driver.ValueOf));
        Assert.Empty(driver.OpenPins);
    }

    [Fact]
    public void A_button_without_a_pin_names_the_key()
    {
        using var controller = new GpioController(new FakeGpioDriver());
        var e = Assert.Throws<EdgeAvsrException>(() => new PushToTalkButton(new GpioConfig(), controller));
        Assert.StartsWith("gpio.button_pin:", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Runs only where a GPIO chip exists; elsewhere xunit reports the test skipped with the reason.</summary>
    public sealed class GpioHardwareFactAttribute : FactAttribute
    {
        public GpioHardwareFactAttribute()
        {
            if (!File.Exists("/dev/gpiochip0"))
            {
                Skip = "no /dev/gpiochip0 on this machine: real GPIO hardware (and libgpiod) needed";
            }
        }
    }

    [GpioHardwareFact]
    public void A_real_chip_opens_through_libgpiod()
    {
        using var controller = new GpioController(new System.Device.Gpio.Drivers.LibGpiodDriver(0));
        Assert.True(controller.PinCount > 0);
    }

    private static int Count(List<ButtonAction> seen, ButtonAction a)
    {
        lock (seen)
        {
            return seen.Count(s => s == a);
        }
    }

    private static ButtonAction[] Snapshot(List<ButtonAction> seen)
    {
        lock (seen)
        {
            return [.. seen];
        }
    }

    private static async Task WaitForAsync(Func<bool> condition, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(5);
        }
    }
}
