using System.Runtime.InteropServices;
using EdgeAvsr.Device.Config;
using EdgeAvsr.Device.Sources;
using EdgeAvsr.Runtime.Pipeline;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace EdgeAvsr.Device.Tests.Sources;

/// <summary>
/// Real ffmpeg: a clip made by ffmpeg (lavfi testsrc and a 440 Hz sine) read as camera and microphone in real time, and
/// played by the real-time file source on a fake clock. The references are ffmpeg's own decodes of the same clip.
/// </summary>
public sealed class FfmpegSourceTests(ITestOutputHelper log) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string MakeClip(double seconds)
    {
        string clip = _dir.File("clip.mkv");
        Tools.Run("ffmpeg", "-v", "error", "-f", "lavfi", "-i", $"testsrc=size=160x120:rate=25:duration={seconds}", "-f", "lavfi", "-i",
            $"sine=frequency=440:sample_rate=48000:duration={seconds}", "-c:v", "ffv1", "-c:a", "pcm_s16le", "-shortest", clip);
        return clip;
    }

    /// <summary>ffmpeg's decode of the clip's frames as the camera process makes them: 25 fps, 96x96 gray.</summary>
    private static List<byte[]> ReferenceFrames(string clip)
    {
        string raw = Path.ChangeExtension(clip, ".gray");
        Tools.Run("ffmpeg", "-v", "error", "-i", clip, "-an", "-vf", "fps=25,scale=96:96:flags=bilinear,format=gray", "-f", "rawvideo", "-pix_fmt", "gray",
            "-y", raw);
        var bytes = File.ReadAllBytes(raw);
        return [.. Enumerable.Range(0, bytes.Length / 9216).Select(i => bytes.AsSpan(i * 9216, 9216).ToArray())];
    }

    private static float[] ReferenceAudio(string clip)
    {
        string raw = Path.ChangeExtension(clip, ".f32");
        Tools.Run("ffmpeg", "-v", "error", "-i", clip, "-vn", "-ac", "1", "-ar", "16000", "-f", "f32le", "-y", raw);
        return Tools.ReadRawFloat(raw);
    }

    [Fact]
    public async Task A_clip_read_by_ffmpeg_in_real_time_comes_out_as_live_audio_and_video_on_one_clock()
    {
        string clip = MakeClip(4);
        var config = new DeviceConfig
        {
            Camera = new CameraConfig { Kind = CameraKind.Ffmpeg, Input = clip, InputOptions = ["-re"] },
            Microphone = new MicrophoneConfig { Kind = MicrophoneKind.Ffmpeg, Input = clip, InputOptions = ["-re"] },
            // A loaded test machine may hold a process back longer than a live device would be.
            Timings = new DeviceTimings { StallTimeout = TimeSpan.FromSeconds(5) },
        };
        var source = new LiveMediaSource(config);
        var chunks = new List<MediaChunk>();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        long samples = 0;
        try
        {
            await foreach (var chunk in source.ReadAsync(stop.Token))
            {
                chunks.Add(chunk);
                samples += (chunk as AudioChunk)?.Samples.Length ?? 0;
                if (samples >= 3 * 16000)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"3 s of audio did not arrive within a minute ({samples} samples)");
        }
        var status = source.Status;
        log.WriteLine(string.Join(Environment.NewLine, status));

        // Audio: contiguous from where the microphone came up on the host clock (ffmpeg's start-up before it is silence to
        // the pipeline), the same samples as ffmpeg's decode.
        var reference = ReferenceAudio(clip);
        long audioStart = StreamClock.Samples(chunks.OfType<AudioChunk>().First().Timestamp);
        long at = audioStart;
        var audio = new List<float>();
        foreach (var a in chunks.OfType<AudioChunk>())
        {
            Assert.Equal(at, StreamClock.Samples(a.Timestamp));
            at += a.Samples.Length;
            audio.AddRange(a.Samples);
        }
        Assert.Equal(reference.AsSpan(0, audio.Count).ToArray(), audio.ToArray());

        // Video: on the 40 ms grid, each frame one of ffmpeg's (in order), and about one per slot of the audio received.
        var frames = ReferenceFrames(clip);
        int last = -1, count = 0;
        var offsets = new List<double>();
        foreach (var v in chunks.OfType<VideoChunk>())
        {
            Assert.Equal(0, v.Timestamp.Ticks % 400_000);
            for (int j = 0; j < v.Crops.Count; j++)
            {
                var crop = v.Crops.Frame(j).ToArray();
                int index = frames.FindIndex(Math.Max(last, 0), f => f.AsSpan().SequenceEqual(crop));
                Assert.True(index >= 0, $"frame {count} is none of ffmpeg's frames from {last} on");
                last = index;
                count++;
                // Where the clip's frame sits against the clip's audio on the stream clock.
                long slot = (long)Math.Round(v.Timestamp.TotalSeconds * 25) + j;
                offsets.Add(StreamClock.Seconds(slot * 640 - audioStart) - index / 25.0);
            }
        }
        log.WriteLine($"audio from {StreamClock.Seconds(audioStart):0.000} s, {count} frames, clip video against clip audio: " +
            $"{offsets.Min() * 1000:0} to {offsets.Max() * 1000:0} ms");
        // Every frame received went out once, less those dropped and still held (the backlog), plus those repeated.
        var camera = status[0];
        long sent = camera.Delivered - camera.Dropped + camera.Repeated;
        Assert.InRange(count, sent - config.Timings.MaxVideoBacklog - 1, sent);
        // The clip's lips and sound are apart by how far apart the two ffmpeg processes started, which the machine's load
        // decides (seen: 27-67 ms on a loaded machine, -347 ms and +1377 ms at load 40): logged above, not asserted.
        // Within one run the offset holds: the clock does not wander (drops and repeats while a starved process catches up move
        // it by a slot or a few).
        Assert.True(offsets.Max() - offsets.Min() <= 0.3, $"offsets spread over {(offsets.Max() - offsets.Min()) * 1000:0} ms");
        Assert.DoesNotContain(chunks, c => c is StreamStateChunk);
        Assert.All(status, s => Assert.Equal(DeviceState.Live, s.State));
        Assert.True(status[1].Delivered >= 3 * 16000);
    }

    [Fact]
    public async Task The_real_time_file_source_hands_each_chunk_out_when_the_clock_passes_its_end()
    {
        string clip = MakeClip(1);
        var request = new MediaClipRequest { InputPath = clip, VideoKind = Runtime.Video.VideoInputKind.Crops };
        var all = new List<MediaChunk>();
        await foreach (var c in new MediaFileSource(request, true, true).ReadAsync(TimeSpan.FromMilliseconds(40)))
        {
            all.Add(c);
        }
        var time = new FakeTimeProvider();
        var played = new List<MediaChunk>();
        var source = new RealTimeFileSource(request, time: time);
        // Enumerated on this thread: the first MoveNextAsync reads the clock's start before it returns.
        await using var enumerator = source.ReadAsync().GetAsyncEnumerator();
        var next = enumerator.MoveNextAsync().AsTask();
        var now = TimeSpan.Zero;
        while (true)
        {
            int due = all.TakeWhile(c => RealTimeFileSource.End(c) <= now).Count();
            // Everything due comes out...
            while (played.Count < due)
            {
                Assert.True(await Task.WhenAny(next, Task.Delay(TimeSpan.FromSeconds(20))) == next, $"{played.Count} of {due} chunks due at {now}");
                Assert.True(await next);
                played.Add(enumerator.Current);
                next = enumerator.MoveNextAsync().AsTask();
            }
            if (due == all.Count)
            {
                break;
            }
            // ...and nothing before its time.
            await Task.Delay(5);
            Assert.False(next.IsCompleted, $"a chunk came out at {now} before its end");
            time.Advance(TimeSpan.FromMilliseconds(20));
            now += TimeSpan.FromMilliseconds(20);
        }
        Assert.False(await next);
        Assert.Equal(all.Count, played.Count);
        for (int i = 0; i < all.Count; i++)
        {
            Assert.Equal(all[i].Timestamp, played[i].Timestamp);
            switch (all[i])
            {
                case AudioChunk a:
                    Assert.Equal(a.Samples, ((AudioChunk)played[i]).Samples);
                    break;
                case VideoChunk v:
                    Assert.Equal(v.Crops.Pixels, ((VideoChunk)played[i]).Crops.Pixels);
                    break;
            }
        }
        Assert.Equal(TimeSpan.FromSeconds(1), RealTimeFileSource.End(all[^1]));
    }
}
