using System.Runtime.InteropServices;
using EdgeAvsr.Device.Config;
using EdgeAvsr.Device.Sources;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Pipeline;
using Microsoft.Extensions.Time.Testing;

namespace EdgeAvsr.Device.Tests.Sources;

/// <summary>
/// The live source on a fake clock with fake device processes: the test writes what each process "captured" every 20 ms of
/// fake time, and steps the clock only once the source has handled everything (so every run is the same).
/// </summary>
public sealed class LiveSourceTests
{
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(20);

    private static DeviceConfig Config(bool camera = true, bool microphone = true, TimeSpan? maxRestart = null) => new()
    {
        Camera = camera ? new CameraConfig { Kind = CameraKind.V4l2, Input = "/dev/video0" } : null,
        Microphone = microphone ? new MicrophoneConfig { Kind = MicrophoneKind.Alsa, Input = "hw:1,0" } : null,
        Timings = new DeviceTimings { MaxRestartDelay = maxRestart ?? TimeSpan.FromSeconds(30) },
    };

    [Fact]
    public async Task A_stalled_camera_is_noticed_within_a_second_restarted_with_backoff_and_audio_flows_throughout()
    {
        // The camera delivers for 3 s, nothing from 3 s to 12 s (neither the hung process nor its first restarts), then again.
        await using var run = new Run(Config(maxRestart: TimeSpan.FromSeconds(2)), cameraDelivers: t => t < 3 || t >= 12, microphoneDelivers: _ => true);
        await run.AdvanceAsync(TimeSpan.FromSeconds(16));

        var states = run.Chunks.Where(c => c.Chunk is StreamStateChunk).ToList();
        Assert.Equal(2, states.Count);
        var down = (StreamStateChunk)states[0].Chunk;
        Assert.Equal(new MediaStreams(HasAudio: true, HasVideo: false), down.Live);
        // Last frame at 2.98 s; more than 1 s without one is a stall, noticed within the next second (here at the first poll).
        Assert.InRange(states[0].Host.TotalSeconds, 3.98, 4.1);
        Assert.InRange(down.Timestamp.TotalSeconds, 3.9, 4.1);
        var up = (StreamStateChunk)states[1].Chunk;
        Assert.Equal(new MediaStreams(HasAudio: true, HasVideo: true), up.Live);

        // Restarts: each after the last try was seen stalled, waits of 0.5, 1, 2 s, then capped at 2 s.
        var cameraStarts = run.Processes.Started.Where(p => p.Command.ToString().Contains("v4l2", StringComparison.Ordinal)).Select(p => p.StartedAt).ToList();
        // The first restart after 12 s delivers: the camera is announced back with its first frame.
        Assert.True(cameraStarts[^1].TotalSeconds >= 12);
        Assert.InRange(states[1].Host.TotalSeconds, cameraStarts[^1].TotalSeconds, cameraStarts[^1].TotalSeconds + 0.061);
        Assert.True(cameraStarts.Count >= 5, $"{cameraStarts.Count} camera starts");
        var waits = new List<double>();
        for (int i = 1; i < cameraStarts.Count; i++)
        {
            // A restarted camera that delivers nothing is itself stalled 1 s (and a poll) after it started.
            double stalledAt = i == 1 ? states[0].Host.TotalSeconds : cameraStarts[i - 1].TotalSeconds + 1.02;
            waits.Add(cameraStarts[i].TotalSeconds - stalledAt);
        }
        double[] expected = [0.5, 1, 2, 2];
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.InRange(waits[i], expected[i] - 0.001, expected[i] + 0.041);
        }

        // The microphone never stopped: its chunks cover 16 s without a gap or overlap.
        long at = 0;
        foreach (var a in run.Chunks.Select(c => c.Chunk).OfType<AudioChunk>())
        {
            Assert.Equal(at, StreamClock.Samples(a.Timestamp));
            at += a.Samples.Length;
        }
        Assert.Equal(16 * 16000, at);
        // Video: frames up to the stall (and repeats of the last while it was not yet noticed), none while stalled, then again.
        var video = run.Chunks.Select(c => c.Chunk).OfType<VideoChunk>().ToList();
        Assert.DoesNotContain(video, v => v.Timestamp.TotalSeconds > 4.2 && v.Timestamp.TotalSeconds < 11.9);
        Assert.Contains(video, v => v.Timestamp.TotalSeconds > 12.5);

        var camera = run.Source.Status[0];
        Assert.Equal(DeviceKind.Camera, camera.Kind);
        Assert.Equal(DeviceState.Live, camera.State);
        Assert.Equal(cameraStarts.Count - 1, camera.Restarts);
        Assert.Contains("delivered nothing", camera.LastError, StringComparison.Ordinal);
        Assert.Equal(DeviceState.Live, run.Source.Status[1].State);
    }

    [Fact]
    public async Task The_status_says_stalled_while_the_camera_is_away()
    {
        await using var run = new Run(Config(), cameraDelivers: t => t < 1, microphoneDelivers: _ => true);
        await run.AdvanceAsync(TimeSpan.FromSeconds(2.1));
        var camera = run.Source.Status[0];
        Assert.Equal(DeviceState.Stalled, camera.State);
        Assert.Equal("/dev/video0", camera.Input);
        Assert.Equal(25, camera.Delivered);
        Assert.NotNull(camera.SinceLastData);
        Assert.InRange(camera.SinceLastData!.Value.TotalSeconds, 1.0, 1.2);
        await run.AdvanceAsync(TimeSpan.FromSeconds(0.6));
        Assert.Equal(DeviceState.Retrying, run.Source.Status[0].State);
        Assert.Equal(1, run.Source.Status[0].Restarts);
        Assert.Equal(DeviceState.Live, run.Source.Status[1].State);
    }

    [Fact]
    public async Task A_microphone_that_goes_away_leaves_the_video_on_the_host_clock()
    {
        // The microphone's process exits at 2 s and comes back on its first restart.
        await using var run = new Run(Config(), cameraDelivers: _ => true, microphoneDelivers: t => t < 2 || t >= 2.5, exitMicrophoneAt: 2);
        await run.AdvanceAsync(TimeSpan.FromSeconds(5));

        var states = run.Chunks.Where(c => c.Chunk is StreamStateChunk).Select(c => (c.Host, ((StreamStateChunk)c.Chunk).Live)).ToList();
        Assert.Equal(2, states.Count);
        // An exit is noticed at once.
        Assert.Equal(new MediaStreams(false, true), states[0].Live);
        Assert.InRange(states[0].Host.TotalSeconds, 2, 2.05);
        Assert.Equal(new MediaStreams(true, true), states[1].Live);
        Assert.Contains("process ended", run.Source.Status[1].LastError, StringComparison.Ordinal);

        // Video never paused: one frame per slot, 5 s of them (less the last slot or two still being filled).
        var slots = run.Chunks.Select(c => c.Chunk).OfType<VideoChunk>().Sum(v => v.Crops.Count);
        Assert.InRange(slots, 123, 125);
        // Audio resumed later on the same clock: a gap of about the time it was away, never an overlap.
        var audio = run.Chunks.Select(c => c.Chunk).OfType<AudioChunk>().ToList();
        long end = 0;
        double gap = 0;
        foreach (var a in audio)
        {
            long at = StreamClock.Samples(a.Timestamp);
            Assert.True(at >= end);
            gap += StreamClock.Seconds(at - end);
            end = at + a.Samples.Length;
        }
        Assert.InRange(gap, 0.45, 0.6);
    }

    [Fact]
    public async Task A_camera_alone_runs_on_the_host_clock()
    {
        await using var run = new Run(Config(microphone: false), cameraDelivers: _ => true, microphoneDelivers: _ => false);
        await run.AdvanceAsync(TimeSpan.FromSeconds(3));
        Assert.Equal(new MediaStreams(false, true), run.Source.Streams);
        Assert.DoesNotContain(run.Chunks, c => c.Chunk is StreamStateChunk or AudioChunk);
        // One frame per 40 ms slot from the first frame on, in order, none dropped or repeated.
        var video = run.Chunks.Select(c => c.Chunk).OfType<VideoChunk>().ToList();
        long slot = (long)Math.Round(video[0].Timestamp.TotalSeconds * 25);
        int expected = 0;
        foreach (var v in video)
        {
            Assert.Equal(slot, (long)Math.Round(v.Timestamp.TotalSeconds * 25));
            for (int j = 0; j < v.Crops.Count; j++)
            {
                Assert.Equal(expected++, BitConverter.ToInt32(v.Crops.Frame(j)[..4]));
            }
            slot += v.Crops.Count;
        }
        Assert.InRange(expected, 72, 75);
        var camera = run.Source.Status.Single();
        Assert.Equal((DeviceState.Live, 0L, 0L), (camera.State, camera.Dropped, camera.Repeated));
        Assert.InRange(camera.DriftPpm!.Value, -15000, 15000);
    }

    [Fact]
    public async Task A_device_that_cannot_start_is_retried_and_reported()
    {
        var config = Config(microphone: false) with { Camera = new CameraConfig { Kind = CameraKind.Command, Input = "x", Width = 96, Height = 96 } };
        var processes = new FakeProcessFactory(() => TimeSpan.Zero);
        var time = new FakeTimeProvider();
        var source = new LiveMediaSource(config, new MissingProgram(processes), time);
        await using var enumerator = source.ReadAsync().GetAsyncEnumerator();
        var first = enumerator.MoveNextAsync();
        // The first start fails at once: nothing delivers.
        Assert.True(await first);
        Assert.Equal(new MediaStreams(false, false), ((StreamStateChunk)enumerator.Current).Live);
        var status = source.Status.Single();
        Assert.Equal(DeviceState.Stalled, status.State);
        Assert.Contains("cannot start", status.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public void A_source_needs_a_device_and_valid_config()
    {
        var e = Assert.Throws<EdgeAvsrException>(() => new LiveMediaSource(new DeviceConfig()));
        Assert.StartsWith("camera:", e.Message, StringComparison.Ordinal);
        var bad = Assert.Throws<EdgeAvsrException>(() => new LiveMediaSource(new DeviceConfig { Microphone = new MicrophoneConfig() }));
        Assert.StartsWith("microphone.input:", bad.Message, StringComparison.Ordinal);
    }

    private sealed class MissingProgram(FakeProcessFactory inner) : IDeviceProcessFactory
    {
        public IDeviceProcess Start(DeviceCommand command) => inner.Start(command with { Program = "missing" });
    }

    /// <summary>A source, its fake devices and a consumer that records each chunk with the fake time it came out.</summary>
    private sealed class Run : IAsyncDisposable
    {
        private readonly FakeTimeProvider _time = new();
        private readonly Func<double, bool> _cameraDelivers, _microphoneDelivers;
        private readonly double? _exitMicrophoneAt;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _consumer;
        private readonly List<(TimeSpan Host, MediaChunk Chunk)> _chunks = [];
        private int _frame;

        public Run(DeviceConfig config, Func<double, bool> cameraDelivers, Func<double, bool> microphoneDelivers, double? exitMicrophoneAt = null)
        {
            _cameraDelivers = cameraDelivers;
            _microphoneDelivers = microphoneDelivers;
            _exitMicrophoneAt = exitMicrophoneAt;
            Processes = new FakeProcessFactory(() => Source!.Now());
            Source = new LiveMediaSource(config, Processes, _time);
            _consumer = Task.Run(async () =>
            {
                try
                {
                    await foreach (var chunk in Source.ReadAsync(_stop.Token))
                    {
                        lock (_chunks)
                        {
                            _chunks.Add((Source.Now(), chunk));
                        }
                    }
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                }
            });
        }

        public LiveMediaSource Source { get; }

        public FakeProcessFactory Processes { get; }

        public IReadOnlyList<(TimeSpan Host, MediaChunk Chunk)> Chunks
        {
            get
            {
                lock (_chunks)
                {
                    return [.. _chunks];
                }
            }
        }

        /// <summary>Steps the fake clock 20 ms at a time; after each step the devices deliver what they captured in it.</summary>
        public async Task AdvanceAsync(TimeSpan length)
        {
            await QuiesceAsync();
            var end = Source.Now() + length;
            while (Source.Now() < end - TimeSpan.FromTicks(1))
            {
                _time.Advance(Step);
                double t = Source.Now().TotalSeconds;
                if (_exitMicrophoneAt is { } exit && Math.Abs(t - exit) < 1e-9)
                {
                    Processes.Current("alsa")?.Kill();
                }
                if (_cameraDelivers(t - 0.02) && Processes.Current("v4l2") is { } camera && (long)Math.Round(t * 1000) % 40 == 0)
                {
                    // One frame each 40 ms, its index in its first bytes.
                    var crop = new byte[96 * 96];
                    BitConverter.TryWriteBytes(crop, _frame++);
                    camera.Write(crop);
                }
                if (_microphoneDelivers(t - 0.02) && Processes.Current("alsa") is { } microphone)
                {
                    microphone.Write(MemoryMarshal.AsBytes(new float[320].AsSpan()).ToArray());
                }
                await QuiesceAsync();
            }
        }

        private async Task QuiesceAsync()
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (!(Source.IsIdleAt(Source.Now()) && Processes.Drained))
            {
                Assert.True(DateTime.UtcNow < deadline, "the source did not settle");
                await Task.Delay(1);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _time.Advance(Step);
            await _consumer;
            _stop.Dispose();
        }
    }
}
