using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Pipeline;

namespace EdgeAvsr.Runtime.Tests.Pipeline;

public class PipelineHealthTests(LiveFixture f) : IClassFixture<LiveFixture>
{
    [Fact]
    public async Task AFedPipeline_CountsWhatItCutAndCaptioned_FillsItsGaps_AndKeepsItsQueuesWithinCapacity()
    {
        // The clip with one audio chunk (0.1 s) and one frame missing: the stamps jump over them.
        var chunks = f.Chunks(0, f.End, audio: true, video: true)
            .Where(c => !(c is AudioChunk && c.Timestamp == LiveFixture.At(32000)) && !(c is VideoChunk && c.Timestamp == LiveFixture.At(60 * 640)))
            .ToList();
        using var models = AvsrModels.Load(f.Pack, new AvsrModelOptions { Threads = 1 });
        var options = new AvsrPipelineOptions { Recognition = new RecognitionOptions { Beams = 1, MaxNewTokens = 8 } };
        var pipeline = new AvsrPipeline(models, AvsrTask.Avsr, new MediaStreams(true, true), options);
        var idle = pipeline.Health;
        Assert.Equal((0L, 0L, 0L, 0L), (idle.Segment.Count, idle.FrontEnd.Count, idle.Decode.Count, idle.FinalCaptions));
        Assert.Equal(new QueueDepths(0, 0, 0, 0, 0), idle.Queues);
        Assert.Equal(new CaptionLatency(0, 0, 0, 0), idle.FinalLatency);

        var captions = new List<Caption>();
        var depths = new List<QueueDepths>();
        await foreach (var caption in pipeline.RunAsync(LiveFixture.Play(chunks)))
        {
            captions.Add(caption);
            depths.Add(pipeline.Health.Queues);
            // A slow consumer: the stages run ahead until the bounded queues stop them.
            await Task.Delay(100);
        }
        int finals = captions.Count(c => c.IsFinal), partials = captions.Count - finals;
        Assert.True(finals >= 3 && partials >= 3, $"{finals} finals and {partials} partials: too few to count");
        Assert.All(depths, d => Assert.Equal(2, d.Capacity));
        Assert.All(depths, d => Assert.True(new[] { d.Cut, d.Featured, d.Projected, d.Captions }.All(n => n is >= 0 and <= 2), $"{d}"));
        Assert.Contains(depths, d => d.Cut + d.Featured + d.Projected + d.Captions > 0);

        var health = pipeline.Health;
        Assert.Equal(AvsrTask.Avsr, health.Task);
        Assert.Equal(chunks.Count, health.Segment.Count);
        Assert.Equal(captions.Count, health.FrontEnd.Count);
        Assert.Equal(captions.Count, health.EncodeProject.Count);
        Assert.Equal(captions.Count, health.Decode.Count);
        Assert.Equal((partials, finals), (health.PartialsCut, health.FinalsCut));
        Assert.Equal((partials, finals), (health.PartialCaptions, health.FinalCaptions));
        Assert.Equal((0L, 0L), (health.PartialsDropped, health.FinalsDropped));
        Assert.Equal((1600L, 1L), (health.AudioSamplesFilled, health.VideoFramesFilled));
        Assert.Equal(finals, health.FinalLatency.Count);
        foreach (var stage in new[] { health.Segment, health.FrontEnd, health.EncodeProject, health.Decode })
        {
            Assert.True(stage.LastMs > 0 && stage.MeanMs > 0, $"{stage}");
        }
        Assert.True(health.FinalLatency.LastMs > 0 && health.FinalLatency.MeanMs > 0 && health.FinalLatency.P95Ms > 0, $"{health.FinalLatency}");
        Assert.Equal(new QueueDepths(0, 0, 0, 0, 0), health.Queues);
    }

    [Theory]
    [InlineData(37)]
    [InlineData(250)]
    public void LatencyWindow_SummarisesTheMostRecentValues(int added)
    {
        var rng = new Random(17);
        var values = Enumerable.Range(0, added).Select(_ => rng.NextDouble() * 500).ToArray();
        var window = new LatencyWindow(100);
        foreach (double v in values)
        {
            window.Add(v);
        }
        var recent = values.TakeLast(100).ToArray();
        var sorted = recent.Order().ToArray();
        // Nearest rank: the smallest value with at least 95% of the window at or below it.
        double p95 = sorted.First(v => sorted.Count(w => w <= v) >= 0.95 * sorted.Length);
        var summary = window.Summary();
        Assert.Equal(recent.Length, summary.Count);
        Assert.Equal(values[^1], summary.LastMs);
        Assert.Equal(recent.Average(), summary.MeanMs, 9);
        Assert.Equal(p95, summary.P95Ms);
    }
}
