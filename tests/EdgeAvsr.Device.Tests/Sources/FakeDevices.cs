using EdgeAvsr.Device.Sources;
using EdgeAvsr.Runtime;

namespace EdgeAvsr.Device.Tests.Sources;

/// <summary>A device process the test writes stdout for; killed, its stdout ends.</summary>
internal sealed class FakeProcess(DeviceCommand command, TimeSpan startedAt) : IDeviceProcess
{
    private readonly Lock _gate = new();
    private readonly Queue<byte[]> _pending = new();
    private TaskCompletionSource<int>? _waiting;
    private Memory<byte> _waitingBuffer;

    public DeviceCommand Command { get; } = command;

    public TimeSpan StartedAt { get; } = startedAt;

    public bool Killed { get; private set; }

    public string ErrorTail { get; set; } = "";

    /// <summary>Nothing unread, and the reader waits for more (or the process is gone).</summary>
    public bool Drained
    {
        get
        {
            lock (_gate)
            {
                return Killed || (_pending.Count == 0 && _waiting is { Task.IsCompleted: false });
            }
        }
    }

    public void Write(byte[] data)
    {
        TaskCompletionSource<int>? wake = null;
        int n = 0;
        lock (_gate)
        {
            if (Killed)
            {
                return;
            }
            if (_waiting is { Task.IsCompleted: false } w && data.Length <= _waitingBuffer.Length)
            {
                data.CopyTo(_waitingBuffer);
                wake = w;
                n = data.Length;
                _waiting = null;
            }
            else
            {
                _pending.Enqueue(data);
            }
        }
        wake?.TrySetResult(n);
    }

    public ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellation)
    {
        lock (_gate)
        {
            if (_pending.Count > 0)
            {
                var data = _pending.Dequeue();
                data.CopyTo(buffer);
                return ValueTask.FromResult(data.Length);
            }
            if (Killed)
            {
                return ValueTask.FromResult(0);
            }
            _waiting = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waitingBuffer = buffer;
            var waiting = _waiting;
            cancellation.Register(() => waiting.TrySetCanceled(cancellation));
            return new ValueTask<int>(waiting.Task);
        }
    }

    public void Kill()
    {
        TaskCompletionSource<int>? wake;
        lock (_gate)
        {
            Killed = true;
            wake = _waiting;
            _waiting = null;
        }
        wake?.TrySetResult(0);
    }

    public void Dispose() => Kill();
}

/// <summary>Hands out fake processes and remembers them; a program named "missing" cannot start.</summary>
internal sealed class FakeProcessFactory(Func<TimeSpan> now) : IDeviceProcessFactory
{
    private readonly Lock _gate = new();
    private readonly List<FakeProcess> _started = [];

    public IReadOnlyList<FakeProcess> Started
    {
        get
        {
            lock (_gate)
            {
                return [.. _started];
            }
        }
    }

    public IDeviceProcess Start(DeviceCommand command)
    {
        if (command.Program == "missing")
        {
            throw new EdgeAvsrException("missing: cannot start it (No such file or directory); is it installed and on PATH?");
        }
        var p = new FakeProcess(command, now());
        lock (_gate)
        {
            _started.Add(p);
        }
        return p;
    }

    /// <summary>The newest live process whose arguments mention <paramref name="what"/>.</summary>
    public FakeProcess? Current(string what) => Started.LastOrDefault(p => !p.Killed && p.Command.ToString().Contains(what, StringComparison.Ordinal));

    public bool Drained => Started.All(p => p.Drained);
}
