using EdgeAvsr.Runtime.Pipeline;
using EdgeAvsr.Runtime.Video;

namespace EdgeAvsr.Runtime.Tests.Pipeline;

/// <summary>
/// The pipeline's sliding windows of audio and mouth crops, against plain lists with an offset: the same positions, the
/// same reads and dropout fills over thousands of random operations, and moving the kept window costs at most a small
/// multiple of what was appended (not the whole window per chunk).
/// </summary>
public class StreamBufferTests
{
    private const int FrameBytes = MouthRoi.CropSize * MouthRoi.CropSize;

    private static readonly int[] s_sampleWindows = [60_000, 1_000_000, 2_000, 1_000_000, 30_000, 200_000];

    // One sample is 62.5 us = 625 ticks, one frame 40 ms: stamps land exactly on the sample or frame.
    private static TimeSpan SampleTime(long sample) => TimeSpan.FromTicks(sample * 625);

    private static TimeSpan FrameTime(long frame) => TimeSpan.FromTicks(frame * 400_000);

    /// <summary>What <see cref="SampleBuffer"/> promises, kept the simplest way.</summary>
    private sealed class ReferenceSamples
    {
        private readonly List<float> _kept = [];

        public long Offset { get; private set; }

        public long End => Offset + _kept.Count;

        public int Append(long at, float[] samples)
        {
            int silence = 0;
            if (at > End + 16)
            {
                silence = (int)(at - End);
                _kept.AddRange(new float[silence]);
            }
            else if (at < End - 16)
            {
                throw new EdgeAvsrException("overlap");
            }
            _kept.AddRange(samples);
            return silence;
        }

        public float[] Slice(long start, long end)
        {
            var result = new float[end - start];
            for (long s = start; s < end; s++)
            {
                result[s - start] = s >= Offset && s < End ? _kept[(int)(s - Offset)] : 0f;
            }
            return result;
        }

        public void DropBefore(long sample)
        {
            int drop = (int)Math.Clamp(sample - Offset, 0, _kept.Count);
            _kept.RemoveRange(0, drop);
            Offset += drop;
        }
    }

    /// <summary>What <see cref="FrameBuffer"/> promises, kept the simplest way.</summary>
    private sealed class ReferenceFrames
    {
        private readonly List<byte[]> _kept = [];

        public long Offset { get; private set; }

        public long End => Offset + _kept.Count;

        public void Append(long at, IEnumerable<byte[]> frames)
        {
            if (at < End)
            {
                throw new EdgeAvsrException("overlap");
            }
            while (End < at)
            {
                _kept.Add(_kept.Count > 0 ? _kept[^1] : new byte[FrameBytes]);
            }
            _kept.AddRange(frames);
        }

        public byte[] Slice(long first, long end) => [.. Enumerable.Range(0, (int)(end - first)).SelectMany(i => _kept[(int)(first + i - Offset)])];

        public void DropBefore(long frame)
        {
            int drop = (int)Math.Clamp(frame - Offset, 0, _kept.Count);
            _kept.RemoveRange(0, drop);
            Offset += drop;
        }
    }

    [Theory]
    [InlineData(20240611)]
    [InlineData(7)]
    public void SampleBuffer_RandomAppendsDropsAndReads_MatchTheReference(int seed)
    {
        var rng = new Random(seed);
        var buffer = new SampleBuffer();
        var reference = new ReferenceSamples();
        float serial = 0;
        long appended = 0;
        for (int op = 0; op < 6000; op++)
        {
            int kind = rng.Next(100);
            if (kind < 55)
            {
                var samples = new float[rng.Next(0, 2000)];
                for (int i = 0; i < samples.Length; i++)
                {
                    samples[i] = ++serial;
                }
                int stamp = rng.Next(20);
                long at = stamp switch
                {
                    0 => reference.End + rng.Next(17, 8000), // a dropout
                    1 => reference.End + rng.Next(-16, 17), // rounding in the stamp
                    2 when rng.Next(10) == 0 => reference.End - rng.Next(17, 500), // rewrites the past
                    _ => reference.End,
                };
                int expected;
                try
                {
                    expected = reference.Append(at, samples);
                }
                catch (EdgeAvsrException)
                {
                    Assert.Throws<EdgeAvsrException>(() => buffer.Append(new AudioChunk(SampleTime(at), samples)));
                    continue;
                }
                Assert.Equal(expected, buffer.Append(new AudioChunk(SampleTime(at), samples)));
                appended += expected + samples.Length;
            }
            else if (kind < 80)
            {
                // A live window keeping up to a limit that changes every 500 operations (a long one makes the array
                // grow, a short one lets it compact); under short limits, sometimes anywhere around the kept range.
                int keepAtMost = s_sampleWindows[op / 500 % s_sampleWindows.Length];
                long drop = keepAtMost < 100_000 && rng.Next(4) == 0
                    ? reference.Offset + rng.NextInt64(-500, reference.End - reference.Offset + 500)
                    : reference.End - rng.Next(0, keepAtMost);
                reference.DropBefore(drop);
                buffer.DropBefore(drop);
            }
            else
            {
                long start = reference.Offset + rng.NextInt64(-300, reference.End - reference.Offset + 300);
                long end = start + rng.Next(0, 6000);
                Assert.Equal(reference.Slice(start, end), buffer.Slice(start, end));
            }
            Assert.Equal(reference.Offset, buffer.Offset);
            Assert.Equal(reference.End, buffer.End);
        }
        Assert.Equal(reference.Slice(reference.Offset, reference.End), buffer.Slice(buffer.Offset, buffer.End));
        Assert.True(buffer.MovedSamples <= 3 * appended, $"{buffer.MovedSamples} samples moved for {appended} appended");
    }

    [Fact]
    public void SampleBuffer_LiveWindow_MovesEachSampleAFewTimesAtMost()
    {
        // Two minutes of 20 ms chunks keeping the last 10 s, as the pipeline does during speech: the kept window must not
        // be copied on every chunk.
        var buffer = new SampleBuffer();
        var chunk = new float[320];
        long appended = 0;
        for (int i = 0; i < 6000; i++)
        {
            buffer.Append(new AudioChunk(SampleTime(buffer.End), chunk));
            appended += chunk.Length;
            buffer.DropBefore(buffer.End - 10 * StreamClock.SampleRate);
        }
        Assert.Equal(appended - 10 * StreamClock.SampleRate, buffer.Offset);
        Assert.True(buffer.MovedSamples <= 2 * appended, $"{buffer.MovedSamples} samples moved for {appended} appended");
    }

    [Theory]
    [InlineData(20240611)]
    [InlineData(7)]
    public void FrameBuffer_RandomAppendsDropsAndReads_MatchTheReference(int seed)
    {
        var rng = new Random(seed);
        var buffer = new FrameBuffer();
        var reference = new ReferenceFrames();
        int serial = 0;
        long appended = 0;
        for (int op = 0; op < 4000; op++)
        {
            int kind = rng.Next(100);
            if (kind < 55)
            {
                // Each frame carries its serial number, so a read of the wrong frame shows.
                var frames = new byte[rng.Next(0, 5)][];
                for (int i = 0; i < frames.Length; i++)
                {
                    frames[i] = new byte[FrameBytes];
                    BitConverter.TryWriteBytes(frames[i], ++serial);
                }
                int stamp = rng.Next(20);
                long at = stamp switch
                {
                    0 => reference.End + rng.Next(1, 30), // missing frames
                    1 when reference.End > 0 => reference.End - rng.Next(1, Math.Min(5, (int)reference.End) + 1), // rewrites the past
                    _ => reference.End,
                };
                var chunk = new VideoChunk(FrameTime(at), new GrayFrames([.. frames.SelectMany(f => f)], frames.Length, MouthRoi.CropSize, MouthRoi.CropSize));
                try
                {
                    reference.Append(at, frames);
                }
                catch (EdgeAvsrException)
                {
                    Assert.Throws<EdgeAvsrException>(() => buffer.Append(chunk));
                    continue;
                }
                long before = buffer.End;
                buffer.Append(chunk);
                appended += buffer.End - before;
            }
            else if (kind < 80)
            {
                long drop = rng.Next(4) == 0
                    ? reference.Offset + rng.NextInt64(-20, reference.End - reference.Offset + 20)
                    : reference.End - rng.Next(0, 100);
                reference.DropBefore(drop);
                buffer.DropBefore(drop);
            }
            else if (reference.End > reference.Offset)
            {
                long first = reference.Offset + rng.NextInt64(0, reference.End - reference.Offset);
                long end = first + rng.NextInt64(0, reference.End - first + 1);
                var slice = buffer.Slice(first, end);
                Assert.Equal((int)(end - first), slice.Count);
                Assert.Equal(reference.Slice(first, end), slice.Pixels);
                // Frames already dropped or not yet received are not there to read.
                Assert.Throws<ArgumentOutOfRangeException>(() => buffer.Slice(reference.Offset - 1, reference.End));
                Assert.Throws<ArgumentOutOfRangeException>(() => buffer.Slice(reference.Offset, reference.End + 1));
            }
            Assert.Equal(reference.Offset, buffer.Offset);
            Assert.Equal(reference.End, buffer.End);
        }
        Assert.True(buffer.MovedFrames <= 3 * appended, $"{buffer.MovedFrames} frames moved for {appended} appended");
    }

    [Fact]
    public void FrameBuffer_LiveWindow_MovesEachFrameAFewTimesAtMost()
    {
        // Four minutes of single frames keeping the last 30 s.
        var buffer = new FrameBuffer();
        var frame = new GrayFrames(new byte[FrameBytes], 1, MouthRoi.CropSize, MouthRoi.CropSize);
        long appended = 0;
        for (int i = 0; i < 6000; i++)
        {
            buffer.Append(new VideoChunk(FrameTime(buffer.End), frame));
            appended++;
            buffer.DropBefore(buffer.End - 30 * StreamClock.FrameRate);
        }
        Assert.Equal(appended - 30 * StreamClock.FrameRate, buffer.Offset);
        Assert.True(buffer.MovedFrames <= 2 * appended, $"{buffer.MovedFrames} frames moved for {appended} appended");
    }
}
