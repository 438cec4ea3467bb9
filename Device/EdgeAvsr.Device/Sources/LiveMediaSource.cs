using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using EdgeAvsr.Device.Config;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Pipeline;

namespace EdgeAvsr.Device.Sources;

/// <summary>
/// A live camera and/or microphone as one stream of chunks on one clock (the microphone's sample count; see
/// <see cref="StreamSynchronizer"/>). Each device runs as a process (<see cref="CaptureCommands"/>); one that delivers nothing
/// for longer than the stall timeout, or whose process ends, is killed and restarted after a delay that doubles with each
/// failed try (capped), while the other stream keeps flowing. Whenever the set of devices delivering changes, a
/// <see cref="StreamStateChunk"/> goes out in band. <see cref="Status"/> is a snapshot for health reports, safe to read from
/// any thread. Time (stall checks, restart delays, the clock while no audio drives it) comes from the
/// <see cref="TimeProvider"/> given, so tests run on a fake one.
/// </summary>
public sealed class LiveMediaSource
{
    private readonly DeviceTimings _timings;
    private readonly IDeviceProcessFactory _processes;
    private readonly TimeProvider _time;
    private readonly Channel<DeviceEvent> _events = Channel.CreateUnbounded<DeviceEvent>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _gate = new();
    private readonly double _nominalFrameRate;
    private readonly Device? _camera;
    private readonly Device? _microphone;
    private StreamSynchronizer? _sync;
    private long _startTimestamp;
    private int _started;
    // Read by tests to tell that the source waits with nothing left to do (deterministic runs on a fake clock).
    private volatile bool _parked;
    private long _parkedUntilTicks;
    private long _pendingEvents;

    /// <param name="config">The camera and microphone (at least one) and the timings; validated here.</param>
    /// <param name="processes">Starts the device processes (default: real ones).</param>
    /// <param name="time">The clock (default: the system's).</param>
    public LiveMediaSource(DeviceConfig config, IDeviceProcessFactory? processes = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        if (config.Camera is null && config.Microphone is null)
        {
            throw new EdgeAvsrException("camera: neither a camera nor a microphone is configured; a live source needs at least one");
        }
        _timings = config.Timings;
        _processes = processes ?? OsProcessFactory.Instance;
        _time = time ?? TimeProvider.System;
        if (config.Camera is { } camera)
        {
            _camera = new Device(DeviceKind.Camera, camera.Input, CaptureCommands.Camera(camera), CaptureCommands.FrameBytes(camera),
                frame => CaptureCommands.ToCrop(camera, frame));
            _nominalFrameRate = camera.Kind == CameraKind.Command ? camera.FrameRate : StreamClock.FrameRate;
        }
        if (config.Microphone is { } microphone)
        {
            _microphone = new Device(DeviceKind.Microphone, microphone.Input, CaptureCommands.Microphone(microphone), sizeof(float), null);
        }
    }

    /// <summary>The streams configured (what a consumer is built for; <see cref="StreamStateChunk"/>s say which deliver).</summary>
    public MediaStreams Streams => new(_microphone is not null, _camera is not null);

    /// <summary>One snapshot per configured device (camera first).</summary>
    public IReadOnlyList<DeviceStatus> Status
    {
        get
        {
            lock (_gate)
            {
                var now = _started == 0 ? TimeSpan.Zero : Now();
                var result = new List<DeviceStatus>(2);
                if (_camera is { } c)
                {
                    result.Add(c.Snapshot(now, _sync?.FramesReceived ?? 0, _sync?.FramesDropped ?? 0, _sync?.FramesRepeated ?? 0, _sync?.VideoDriftPpm));
                }
                if (_microphone is { } m)
                {
                    result.Add(m.Snapshot(now, _sync?.SamplesReceived ?? 0, 0, 0, _sync?.AudioDriftPpm));
                }
                return result;
            }
        }
    }

    /// <summary>Starts the devices and hands out their chunks until cancelled; the device processes stop when the enumeration ends.</summary>
    public async IAsyncEnumerable<MediaChunk> ReadAsync([EnumeratorCancellation] CancellationToken cancellation = default)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("a live source is read once");
        }
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var output = new List<MediaChunk>();
        MediaStreams announced;
        lock (_gate)
        {
            _startTimestamp = _time.GetTimestamp();
            _sync = new StreamSynchronizer(_nominalFrameRate, _timings.MaxVideoBacklog, Now());
            announced = Streams;
            foreach (var device in Devices())
            {
                Launch(device, Now(), restart: false, stop.Token);
            }
        }
        try
        {
            while (true)
            {
                cancellation.ThrowIfCancellationRequested();
                lock (_gate)
                {
                    var now = Now();
                    var position = StreamSynchronizer.SampleTime(_sync.Position);
                    while (_events.Reader.TryRead(out var e))
                    {
                        Interlocked.Decrement(ref _pendingEvents);
                        Handle(e, now, output);
                    }
                    foreach (var device in Devices())
                    {
                        Supervise(device, now, stop.Token);
                    }
                    _sync.Advance(now, output);
                    var live = new MediaStreams(_microphone?.CountsAsLive == true, _camera?.CountsAsLive == true);
                    if (live != announced)
                    {
                        output.Insert(0, new StreamStateChunk(position, live));
                        announced = live;
                    }
                }
                foreach (var chunk in output)
                {
                    yield return chunk;
                }
                output.Clear();
                await WaitAsync(cancellation).ConfigureAwait(false);
            }
        }
        finally
        {
            stop.Cancel();
            lock (_gate)
            {
                foreach (var device in Devices())
                {
                    device.Stop();
                }
            }
        }
    }

    /// <summary>True when the source waits for an event or its next poll, with no event pending, at host time <paramref name="now"/>.</summary>
    internal bool IsIdleAt(TimeSpan now) => _parked && Interlocked.Read(ref _pendingEvents) == 0 && Interlocked.Read(ref _parkedUntilTicks) > now.Ticks;

    internal TimeSpan Now() => _time.GetElapsedTime(_startTimestamp);

    private IEnumerable<Device> Devices() => new[] { _camera, _microphone }.OfType<Device>();

    private async Task WaitAsync(CancellationToken cancellation)
    {
        using var wake = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var data = _events.Reader.WaitToReadAsync(wake.Token).AsTask();
        Interlocked.Exchange(ref _parkedUntilTicks, (Now() + _timings.PollInterval).Ticks);
        var poll = Task.Delay(_timings.PollInterval, _time, wake.Token);
        _parked = true;
        await Task.WhenAny(data, poll).ConfigureAwait(false);
        _parked = false;
        await wake.CancelAsync().ConfigureAwait(false);
    }

    private void Handle(DeviceEvent e, TimeSpan now, List<MediaChunk> output)
    {
        var device = e.Device;
        if (e.Generation != device.Generation)
        {
            return; // From a process already given up on.
        }
        if (e.Data is null)
        {
            string tail = device.Process?.ErrorTail ?? "";
            Down(device, now, $"its process ended{(e.Error is null ? "" : $" ({e.Error})")}{(tail.Length > 0 ? $": {tail}" : "")}");
            return;
        }
        device.LastData = now;
        if (device.State != DeviceState.Live)
        {
            device.State = DeviceState.Live;
            device.FailedTries = 0;
        }
        foreach (var unit in device.Frame(e.Data))
        {
            if (device.Kind == DeviceKind.Camera)
            {
                _sync!.OnFrame(device.ToCrop!(unit), now);
            }
            else
            {
                _sync!.OnAudio(MemoryMarshal.Cast<byte, float>(unit).ToArray(), now, output);
            }
        }
    }

    private void Supervise(Device device, TimeSpan now, CancellationToken stop)
    {
        if (device.State == DeviceState.Stalled)
        {
            if (now >= device.RetryAt)
            {
                Launch(device, now, restart: true, stop);
            }
            return;
        }
        var since = device.LastData is { } d && d > device.StartedAt ? d : device.StartedAt;
        if (now - since > _timings.StallTimeout)
        {
            Down(device, now, $"delivered nothing for {(now - since).TotalSeconds:0.0} s");
        }
    }

    private void Launch(Device device, TimeSpan now, bool restart, CancellationToken stop)
    {
        device.Generation++;
        device.StartedAt = now;
        if (restart)
        {
            device.Restarts++;
        }
        try
        {
            var process = _processes.Start(device.Command);
            device.Process = process;
            device.State = restart ? DeviceState.Retrying : DeviceState.Starting;
            _ = PumpAsync(device, device.Generation, process, stop);
        }
        catch (EdgeAvsrException e)
        {
            Down(device, now, e.Message);
        }
    }

    private void Down(Device device, TimeSpan now, string reason)
    {
        device.LastError = reason;
        device.Stop();
        device.Generation++;
        device.State = DeviceState.Stalled;
        var delay = _timings.RestartDelay * Math.Pow(2, Math.Min(device.FailedTries, 30));
        device.RetryAt = now + (delay < _timings.MaxRestartDelay ? delay : _timings.MaxRestartDelay);
        device.FailedTries++;
        if (device.Kind == DeviceKind.Camera)
        {
            _sync!.VideoStopped();
        }
        else
        {
            _sync!.AudioStopped();
        }
    }

    /// <summary>Copies a process's stdout into the event channel until it ends (then one end event).</summary>
    private async Task PumpAsync(Device device, int generation, IDeviceProcess process, CancellationToken stop)
    {
        var buffer = new byte[1 << 16];
        string? error = null;
        try
        {
            while (true)
            {
                int n = await process.ReadAsync(buffer, stop).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }
                Post(new DeviceEvent(device, generation, buffer.AsSpan(0, n).ToArray(), null));
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            error = e.Message;
        }
        Post(new DeviceEvent(device, generation, null, error));
    }

    private void Post(DeviceEvent e)
    {
        Interlocked.Increment(ref _pendingEvents);
        _events.Writer.TryWrite(e);
    }

    private sealed record DeviceEvent(Device Device, int Generation, byte[]? Data, string? Error);

    /// <summary>One device's process, supervision state and framing of its byte stream.</summary>
    private sealed class Device(DeviceKind kind, string input, DeviceCommand command, int unitBytes, Func<ReadOnlySpan<byte>, byte[]>? toCrop)
    {
        private byte[] _partial = new byte[unitBytes];
        private int _partialCount;

        public DeviceKind Kind { get; } = kind;

        public DeviceCommand Command { get; } = command;

        public Func<ReadOnlySpan<byte>, byte[]>? ToCrop { get; } = toCrop;

        public IDeviceProcess? Process { get; set; }

        public int Generation { get; set; }

        public DeviceState State { get; set; } = DeviceState.Starting;

        public TimeSpan StartedAt { get; set; }

        public TimeSpan? LastData { get; set; }

        public TimeSpan RetryAt { get; set; }

        public int FailedTries { get; set; }

        public int Restarts { get; set; }

        public string? LastError { get; set; }

        /// <summary>Starting (not stalled yet) or delivering.</summary>
        public bool CountsAsLive => State is DeviceState.Starting or DeviceState.Live;

        /// <summary>The whole units (frames, or all whole samples at once) completed by <paramref name="data"/>.</summary>
        public IEnumerable<byte[]> Frame(byte[] data)
        {
            var units = new List<byte[]>();
            int at = 0;
            if (Kind == DeviceKind.Microphone)
            {
                // Samples: every whole float at once, a split one carried to the next piece.
                int total = _partialCount + data.Length, whole = total / unitBytes * unitBytes;
                if (whole == 0)
                {
                    data.CopyTo(_partial.AsSpan(_partialCount));
                    _partialCount = total;
                    return units;
                }
                var bytes = new byte[whole];
                _partial.AsSpan(0, _partialCount).CopyTo(bytes);
                data.AsSpan(0, whole - _partialCount).CopyTo(bytes.AsSpan(_partialCount));
                data.AsSpan(whole - _partialCount).CopyTo(_partial);
                _partialCount = total - whole;
                if (whole > 0)
                {
                    units.Add(bytes);
                }
                return units;
            }
            while (at < data.Length)
            {
                int n = Math.Min(unitBytes - _partialCount, data.Length - at);
                data.AsSpan(at, n).CopyTo(_partial.AsSpan(_partialCount));
                _partialCount += n;
                at += n;
                if (_partialCount == unitBytes)
                {
                    units.Add(_partial);
                    _partial = new byte[unitBytes];
                    _partialCount = 0;
                }
            }
            return units;
        }

        public void Stop()
        {
            Process?.Kill();
            Process?.Dispose();
            Process = null;
            _partialCount = 0;
        }

        public DeviceStatus Snapshot(TimeSpan now, long delivered, long dropped, long repeated, double? drift) =>
            new(Kind, input, State, delivered, dropped, repeated, drift, Restarts, LastError, LastData is { } d ? now - d : null);
    }
}
