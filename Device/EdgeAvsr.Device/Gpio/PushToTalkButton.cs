using System.Device.Gpio;
using EdgeAvsr.Device.Config;
using EdgeAvsr.Runtime;
using Iot.Device.Button;

namespace EdgeAvsr.Device.Gpio;

/// <summary>What the push-to-talk button did.</summary>
public enum ButtonAction
{
    /// <summary>Pushed down (after debouncing).</summary>
    Pressed,

    /// <summary>Kept down past the hold threshold.</summary>
    Held,

    /// <summary>Let go.</summary>
    Released,
}

/// <summary>
/// The push-to-talk button: the bindings' debounced <see cref="GpioButton"/> on <see cref="GpioConfig.ButtonPin"/>, its
/// down, holding and up events as one <see cref="Changed"/> event. <see cref="IsDown"/> says whether it is held now.
/// </summary>
public sealed class PushToTalkButton : IDisposable
{
    private readonly GpioButton _button;

    /// <param name="config">The pin, wiring and timings (<see cref="GpioConfig.ButtonPin"/> must be set).</param>
    /// <param name="controller">The GPIO controller (a fake one in tests); not disposed here.</param>
    public PushToTalkButton(GpioConfig config, GpioController controller)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(controller);
        int pin = config.ButtonPin ?? throw new EdgeAvsrException("gpio.button_pin: not set; the push-to-talk button needs its line number");
        try
        {
            // Double presses are not used; the bindings still want their window at least three debounce times long.
            _button = new GpioButton(pin, config.ButtonDebounce * 3, config.ButtonHoldThreshold, isPullUp: config.ButtonActiveLow, hasExternalResistor: false,
                gpio: controller, shouldDispose: false, debounceTime: config.ButtonDebounce)
            {
                IsHoldingEnabled = true,
            };
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or ArgumentException or UnauthorizedAccessException)
        {
            throw new EdgeAvsrException($"gpio.button_pin: line {pin} cannot be opened as a button input ({e.Message})", e);
        }
        _button.ButtonDown += (_, _) => Raise(ButtonAction.Pressed);
        _button.ButtonUp += (_, _) => Raise(ButtonAction.Released);
        _button.Holding += (_, e) =>
        {
            if (e.HoldingState == ButtonHoldingState.Started)
            {
                Raise(ButtonAction.Held);
            }
        };
    }

    /// <summary>Raised on the GPIO driver's event thread (or a timer's, for <see cref="ButtonAction.Held"/>).</summary>
    public event EventHandler<ButtonAction>? Changed;

    public bool IsDown => _button.IsPressed;

    private void Raise(ButtonAction action) => Changed?.Invoke(this, action);

    public void Dispose() => _button.Dispose();
}
