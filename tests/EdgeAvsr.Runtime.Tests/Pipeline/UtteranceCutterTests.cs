using EdgeAvsr.Runtime.Audio.Vad;
using EdgeAvsr.Runtime.Pipeline;

namespace EdgeAvsr.Runtime.Tests.Pipeline;

/// <summary>The cutting rule on a virtual clock: speech spans in, utterances out, sample by sample.</summary>
public class UtteranceCutterTests
{
    private const int Rate = StreamClock.SampleRate;

    private static UtteranceCutter Cutter(double partial = 1.0) => new(30L * Rate, Rate / 5, Rate / 5, partial > 0 ? (long)(partial * Rate) : null);

    /// <summary>
    /// Feeds a stream of <paramref name="seconds"/> in steps of <paramref name="step"/> s where speech runs over
    /// <paramref name="speech"/> (raw spans); the VAD is simulated: a span is reported closed (padded by 0.2 s)
    /// 0.6 s after it ends.
    /// </summary>
    private static List<UtteranceSpan> Run(UtteranceCutter cutter, double seconds, double step, params (double Start, double End)[] speech)
    {
        var output = new List<UtteranceSpan>();
        var closed = new HashSet<int>();
        for (double t = step; t < seconds + step / 2; t += step)
        {
            long position = (long)Math.Round(Math.Min(t, seconds) * Rate);
            var newlyClosed = new List<SpeechSegment>();
            long? open = null;
            for (int i = 0; i < speech.Length; i++)
            {
                var (s, e) = speech[i];
                if (!closed.Contains(i) && t >= e + 0.6)
                {
                    closed.Add(i);
                    newlyClosed.Add(new SpeechSegment(Math.Max(0, s - 0.2), e + 0.2));
                }
                else if (t >= s && t < e + 0.6 && !closed.Contains(i))
                {
                    open = (long)Math.Round(s * Rate);
                }
            }
            cutter.Advance(position, newlyClosed, open, output);
        }
        var last = speech.Select((x, i) => (x, i)).Where(p => !closed.Contains(p.i)).Select(p =>
            new SpeechSegment(Math.Max(0, p.x.Start - 0.2), Math.Min(seconds, p.x.End + 0.2))).ToList();
        cutter.Finish((long)Math.Round(seconds * Rate), last, output);
        return output;
    }

    [Fact]
    public void ClosedSegments_BecomeFinals_WithPartialsAtLeastEverySecond_AndIdsInOrder()
    {
        var spans = Run(Cutter(), 12, 0.1, (1.0, 4.5), (7.0, 8.2));
        var finals = spans.Where(s => s.IsFinal).ToList();
        Assert.Equal(2, finals.Count);
        Assert.Equal((0.8, 4.7), (finals[0].Start, finals[0].End));
        Assert.Equal((6.8, 8.4), (finals[1].Start, finals[1].End));
        Assert.Equal([0, 1], finals.Select(f => f.Id));
        foreach (var f in finals)
        {
            // Every partial of an utterance starts where its final starts; their ends step by at most 1 s (+ one step).
            var partials = spans.Where(s => !s.IsFinal && s.Id == f.Id).ToList();
            Assert.NotEmpty(partials);
            Assert.All(partials, p => Assert.Equal(f.StartSample, p.StartSample));
            var ends = partials.Select(p => p.End).ToList();
            Assert.True(ends[0] - f.Start <= 1.1 + 1e-9, $"first partial at {ends[0]} for an utterance from {f.Start}");
            for (int i = 1; i < ends.Count; i++)
            {
                Assert.True(ends[i] - ends[i - 1] <= 1.1 + 1e-9, $"partials at {ends[i - 1]} and {ends[i]}");
            }
            // No partial after the final; the final comes once the VAD closed the segment.
            Assert.True(spans.IndexOf(partials[^1]) < spans.IndexOf(f));
            Assert.True(f.DecidedAtSample >= f.EndSample);
        }
    }

    [Fact]
    public void LongSpeech_IsCutAt30Seconds_AndTheRestFollowsWithoutOverlap()
    {
        var spans = Run(Cutter(partial: 0), 80, 0.5, (2.0, 71.0));
        var finals = spans.Where(s => s.IsFinal).ToList();
        Assert.DoesNotContain(spans, s => !s.IsFinal);
        Assert.Equal(3, finals.Count);
        Assert.Equal(1.8, finals[0].Start, 6);
        Assert.All(finals, f => Assert.True(f.End - f.Start <= 30 + 1e-9, $"{f.Start}-{f.End}"));
        for (int i = 1; i < finals.Count; i++)
        {
            Assert.Equal(finals[i - 1].EndSample, finals[i].StartSample);
        }
        Assert.Equal(71.2, finals[^1].End, 6);
    }

    [Fact]
    public void ASegmentLongerThan30Seconds_ClosedAtOnce_IsSplitIntoEqualParts()
    {
        var cutter = Cutter(partial: 0);
        var output = new List<UtteranceSpan>();
        cutter.Finish(70L * Rate, [new SpeechSegment(0, 65)], output);
        Assert.Equal(3, output.Count);
        Assert.All(output, s => Assert.Equal(65.0 / 3, s.End - s.Start, 3));
        Assert.Equal(65.0, output[^1].End, 6);
    }

    [Fact]
    public void VideoOnly_IsCutIntoWindowsOfAtMost30Seconds()
    {
        var cutter = Cutter(partial: 1);
        var output = new List<UtteranceSpan>();
        for (long p = 640; p <= 65L * Rate; p += 640)
        {
            cutter.AdvanceWithoutVad(p, output);
        }
        cutter.FinishWithoutVad(65L * Rate, output);
        var finals = output.Where(s => s.IsFinal).ToList();
        Assert.Equal([(0.0, 30.0), (30.0, 60.0), (60.0, 65.0)], finals.Select(f => (f.Start, f.End)));
        // Partials every second of stream time within each window.
        var partialEnds = output.Where(s => !s.IsFinal).Select(s => s.End).ToList();
        Assert.True(partialEnds.Count >= 60, $"{partialEnds.Count} partials");
    }

    [Fact]
    public void Slivers_ShorterThanTheMinimum_AreDropped()
    {
        var cutter = Cutter(partial: 0);
        var output = new List<UtteranceSpan>();
        cutter.Finish(10L * Rate, [new SpeechSegment(1.0, 1.1), new SpeechSegment(3.0, 4.0)], output);
        Assert.Equal([(3.0, 4.0)], output.Select(s => (s.Start, s.End)));
    }
}
