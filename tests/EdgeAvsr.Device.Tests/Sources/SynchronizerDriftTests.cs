using Xunit.Abstractions;
using EdgeAvsr.Device.Sources;
using EdgeAvsr.Runtime.Pipeline;

namespace EdgeAvsr.Device.Tests.Sources;

/// <summary>
/// A minute of simulated capture: a microphone that keeps perfect time and a camera whose clock runs 1% fast or slow. The
/// reference is each frame's true capture time (its index over the camera's true rate, written into its pixels), compared
/// with the start of the slot the frame was put in.
/// </summary>
public sealed class SynchronizerDriftTests(ITestOutputHelper log)
{
    private const int Backlog = 2;
    private static readonly TimeSpan Minute = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(+0.01)]
    [InlineData(-0.01)]
    public void A_camera_drifting_one_percent_stays_within_the_backlog_of_the_audio_clock(double drift)
    {
        var run = Simulate(drift, Minute, seed: 17);
        log.WriteLine($"drift {drift:+0.00;-0.00}: worst offset {run.MaxOffset * 1000:0.0} ms, uncorrected {run.UncorrectedEndOffset * 1000:0} ms, " +
            $"measured {run.DriftPpm:0} ppm, dropped {run.Dropped}, repeated {run.Repeated}, slots {run.Slots}");

        // The bound: a frame is never shown more than the backlog (2 frames, 80 ms) away from its slot's start (plus the 3 ms
        // of arrival jitter), where a camera left alone would be off by 1% of the minute, 600 ms, at the end.
        double bound = Backlog / 25.0 + 0.003;
        Assert.True(run.MaxOffset <= bound, $"worst offset {run.MaxOffset * 1000:0.0} ms > {bound * 1000:0.0} ms");
        Assert.True(run.UncorrectedEndOffset > 0.55, $"an uncorrected camera would be off {run.UncorrectedEndOffset * 1000:0} ms");
        // Every slot of the minute holds one frame, in order, on the 40 ms grid.
        Assert.Equal(run.AudioSamples / StreamClock.SamplesPerFrame, run.Slots);
        Assert.True(run.Ordered);
        // The fast camera had about 1% of its frames dropped, the slow one about 1% of the slots repeated.
        long corrections = drift > 0 ? run.Dropped : run.Repeated;
        Assert.InRange(corrections, 0.008 * run.Slots, 0.012 * run.Slots);
        Assert.Equal(0, drift > 0 ? run.Repeated : run.Dropped);
        // The drift measured against the audio clock is the one simulated, within 1000 ppm.
        Assert.NotNull(run.DriftPpm);
        Assert.InRange(run.DriftPpm!.Value, drift * 1e6 - 1000, drift * 1e6 + 1000);
    }

    [Fact]
    public void Without_drift_nothing_is_dropped_or_repeated()
    {
        var run = Simulate(0, TimeSpan.FromSeconds(20), seed: 3);
        Assert.Equal(0, run.Dropped);
        Assert.Equal(0, run.Repeated);
        Assert.True(run.MaxOffset <= Backlog / 25.0 + 0.003);
        Assert.InRange(run.DriftPpm!.Value, -1000, 1000);
    }

    [Fact]
    public void When_the_microphone_stops_the_host_clock_carries_the_video_and_audio_resumes_after_the_gap()
    {
        var sync = new StreamSynchronizer(25, Backlog, TimeSpan.Zero);
        var output = new List<MediaChunk>();
        int frame = 0;
        // 2 s of both, audio in 40 ms pieces after the frames of their span.
        for (int k = 1; k <= 50; k++)
        {
            var now = TimeSpan.FromMilliseconds(40 * k);
            sync.OnFrame(Crop(frame++), now);
            sync.OnAudio(new float[640], now, output);
        }
        Assert.Equal(32000, sync.Position);
        // The microphone falls silent; it is noticed 1 s later, the camera goes on.
        for (int k = 51; k <= 125; k++)
        {
            var now = TimeSpan.FromMilliseconds(40 * k);
            sync.OnFrame(Crop(frame++), now);
            if (k == 75)
            {
                sync.AudioStopped();
            }
            sync.Advance(now, output);
        }
        // Stream time follows the host clock from the last sample on: 5 s.
        Assert.Equal(80000, sync.Position);
        // Every slot to 5 s but the last, which waits one frame on the host clock for its frame.
        var slots = output.OfType<VideoChunk>().Sum(v => v.Crops.Count);
        Assert.Equal(124, slots);
        // The microphone returns with 40 ms of samples: they are the last 40 ms before now, after a gap of silence.
        var back = TimeSpan.FromMilliseconds(40 * 126);
        sync.OnAudio(new float[640], back, output);
        var resumed = output.OfType<AudioChunk>().Last();
        Assert.Equal(TimeSpan.FromSeconds(5), resumed.Timestamp);
        Assert.True(sync.AudioDrivesClock);
    }

    private sealed record Result(double MaxOffset, double UncorrectedEndOffset, long Slots, long AudioSamples, bool Ordered, long Dropped, long Repeated,
        double? DriftPpm);

    /// <summary>Feeds audio pieces (1024 samples, as ffmpeg writes them) and frames at their host arrival times, in time order.</summary>
    private static Result Simulate(double drift, TimeSpan length, int seed)
    {
        var random = new Random(seed);
        double cameraRate = 25 * (1 + drift);
        var events = new List<(double Time, int Frame)>();
        for (int i = 0; i / cameraRate < length.TotalSeconds; i++)
        {
            // Captured at i / rate, delivered up to 3 ms later.
            events.Add((i / cameraRate + random.NextDouble() * 0.003, i));
        }
        const int Piece = 1024;
        for (long s = Piece; s <= (long)(length.TotalSeconds * 16000); s += Piece)
        {
            events.Add((s / 16000.0, -1));
        }
        // Stable: a frame and an audio piece at the same instant keep the frame first.
        var ordered = events.Select((e, n) => (e, n)).OrderBy(x => x.e.Time).ThenBy(x => x.n).Select(x => x.e).ToList();
        var sync = new StreamSynchronizer(25, Backlog, TimeSpan.Zero);
        var output = new List<MediaChunk>();
        long audio = 0;
        foreach (var (time, frame) in ordered)
        {
            var now = TimeSpan.FromSeconds(time);
            if (frame >= 0)
            {
                sync.OnFrame(Crop(frame), now);
            }
            else
            {
                sync.OnAudio(new float[Piece], now, output);
                audio += Piece;
            }
        }
        double maxOffset = 0, uncorrected = 0;
        long expectedSlot = 0;
        bool ordered2 = true;
        int lastFrame = -1;
        foreach (var v in output.OfType<VideoChunk>())
        {
            long first = (long)Math.Round(v.Timestamp.TotalSeconds * 25);
            ordered2 &= first == expectedSlot && v.Timestamp == TimeSpan.FromTicks(first * 400_000);
            for (int j = 0; j < v.Crops.Count; j++)
            {
                long slot = first + j;
                int index = BitConverter.ToInt32(v.Crops.Frame(j)[..4]);
                ordered2 &= index >= lastFrame;
                lastFrame = index;
                double captured = index / cameraRate;
                maxOffset = Math.Max(maxOffset, Math.Abs(captured - slot / 25.0));
                // A camera taken as is: slot k shows frame k.
                uncorrected = Math.Abs(slot / cameraRate - slot / 25.0);
            }
            expectedSlot = first + v.Crops.Count;
        }
        return new Result(maxOffset, uncorrected, expectedSlot, audio, ordered2, sync.FramesDropped, sync.FramesRepeated, sync.VideoDriftPpm);
    }

    internal static byte[] Crop(int index)
    {
        var crop = new byte[96 * 96];
        BitConverter.TryWriteBytes(crop, index);
        return crop;
    }
}
