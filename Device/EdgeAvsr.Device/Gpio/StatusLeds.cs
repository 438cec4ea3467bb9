using System.Device.Gpio;
using EdgeAvsr.Device.Config;
using EdgeAvsr.Runtime;

namespace EdgeAvsr.Device.Gpio;

/// <summary>What the LEDs show: each lit or not.</summary>
public readonly record struct LedStates(bool Listening, bool Thinking, bool Error);

/// <summary>
/// The listening, thinking and error LEDs on the configured pins (outputs, active high unless <see cref="GpioConfig.LedActiveLow"/>);
/// an unset pin is simply not driven. All LEDs go dark when disposed.
/// </summary>
public sealed class StatusLeds : IDisposable
{
    private readonly GpioController _controller;
    private readonly (int? Pin, string Key)[] _pins;
    private readonly PinValue _lit, _dark;
    private LedStates _shown;

    /// <param name="config">The pins.</param>
    /// <param name="controller">The GPIO controller (a fake one in tests); not disposed here.</param>
    public StatusLeds(GpioConfig config, GpioController controller)
    {
        ArgumentNullException.ThrowIfNull(config);
        _controller = controller ?? throw new ArgumentNullException(nameof(controller));
        (_lit, _dark) = config.LedActiveLow ? (PinValue.Low, PinValue.High) : (PinValue.High, PinValue.Low);
        _pins =
        [
            (config.ListeningLedPin, "gpio.listening_led_pin"), (config.ThinkingLedPin, "gpio.thinking_led_pin"), (config.ErrorLedPin, "gpio.error_led_pin"),
        ];
        foreach (var (pin, key) in _pins)
        {
            if (pin is { } p)
            {
                try
                {
                    _controller.OpenPin(p, PinMode.Output, _dark);
                }
                catch (Exception e) when (e is IOException or InvalidOperationException or ArgumentException or UnauthorizedAccessException)
                {
                    throw new EdgeAvsrException($"{key}: line {p} cannot be opened as an output ({e.Message})", e);
                }
            }
        }
    }

    /// <summary>What is lit now.</summary>
    public LedStates Shown => _shown;

    /// <summary>Lights the LEDs <paramref name="states"/> says and darkens the others.</summary>
    public void Show(LedStates states)
    {
        bool[] lit = [states.Listening, states.Thinking, states.Error];
        for (int i = 0; i < _pins.Length; i++)
        {
            if (_pins[i].Pin is { } p)
            {
                _controller.Write(p, lit[i] ? _lit : _dark);
            }
        }
        _shown = states;
    }

    public void Dispose()
    {
        Show(default);
        foreach (var (pin, _) in _pins)
        {
            if (pin is { } p && _controller.IsPinOpen(p))
            {
                _controller.ClosePin(p);
            }
        }
    }
}
