using System.Device.Gpio;

namespace EdgeAvsr.Device.Tests.Gpio;

/// <summary>
/// A GPIO chip in memory (as dotnet/iot's own tests subclass <see cref="GpioDriver"/>): pins keep their mode and value, the
/// test drives inputs with <see cref="Drive"/>, which raises the edge callbacks a real driver would.
/// </summary>
internal sealed class FakeGpioDriver : GpioDriver
{
    private readonly Lock _gate = new();
    private readonly Dictionary<int, PinMode> _modes = [];
    private readonly Dictionary<int, PinValue> _values = [];
    private readonly List<(int Pin, PinEventTypes Types, PinChangeEventHandler Callback)> _callbacks = [];

    /// <summary>Every write to an output, in order.</summary>
    public List<(int Pin, PinValue Value)> Writes { get; } = [];

    public IReadOnlyCollection<int> OpenPins
    {
        get
        {
            lock (_gate)
            {
                return [.. _modes.Keys];
            }
        }
    }

    public PinMode ModeOf(int pin)
    {
        lock (_gate)
        {
            return _modes[pin];
        }
    }

    public PinValue ValueOf(int pin)
    {
        lock (_gate)
        {
            return _values.GetValueOrDefault(pin, PinValue.Low);
        }
    }

    /// <summary>An outside signal on input <paramref name="pin"/>: its value changes and matching edge callbacks run.</summary>
    public void Drive(int pin, PinValue value)
    {
        List<PinChangeEventHandler> callbacks;
        PinEventTypes edge;
        lock (_gate)
        {
            var old = _values.GetValueOrDefault(pin, PinValue.High);
            _values[pin] = value;
            if (old == value)
            {
                return;
            }
            edge = value == PinValue.High ? PinEventTypes.Rising : PinEventTypes.Falling;
            callbacks = [.. _callbacks.Where(c => c.Pin == pin && (c.Types & edge) != 0).Select(c => c.Callback)];
        }
        foreach (var callback in callbacks)
        {
            callback(this, new PinValueChangedEventArgs(edge, pin));
        }
    }

    protected override int PinCount => 64;

    protected override void OpenPin(int pinNumber)
    {
        lock (_gate)
        {
            _modes[pinNumber] = PinMode.Input;
        }
    }

    protected override void ClosePin(int pinNumber)
    {
        lock (_gate)
        {
            _modes.Remove(pinNumber);
        }
    }

    protected override void SetPinMode(int pinNumber, PinMode mode)
    {
        lock (_gate)
        {
            _modes[pinNumber] = mode;
            if (mode == PinMode.InputPullUp && !_values.ContainsKey(pinNumber))
            {
                _values[pinNumber] = PinValue.High;
            }
        }
    }

    protected override PinMode GetPinMode(int pinNumber)
    {
        lock (_gate)
        {
            return _modes[pinNumber];
        }
    }

    protected override bool IsPinModeSupported(int pinNumber, PinMode mode) => true;

    protected override PinValue Read(int pinNumber) => ValueOf(pinNumber);

    protected override void Write(int pinNumber, PinValue value)
    {
        lock (_gate)
        {
            _values[pinNumber] = value;
            Writes.Add((pinNumber, value));
        }
    }

    protected override WaitForEventResult WaitForEvent(int pinNumber, PinEventTypes eventTypes, CancellationToken cancellationToken) =>
        throw new NotSupportedException("the tests drive edges through callbacks");

    protected override void AddCallbackForPinValueChangedEvent(int pinNumber, PinEventTypes eventTypes, PinChangeEventHandler callback)
    {
        lock (_gate)
        {
            _callbacks.Add((pinNumber, eventTypes, callback));
        }
    }

    protected override void RemoveCallbackForPinValueChangedEvent(int pinNumber, PinChangeEventHandler callback)
    {
        lock (_gate)
        {
            _callbacks.RemoveAll(c => c.Pin == pinNumber && c.Callback == callback);
        }
    }
}
