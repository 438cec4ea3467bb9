using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Pipeline;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeAvsr.Serve.Tests;

/// <summary>The daemon in-process over the producer seam: a fake that fails once, then captions, then drains.</summary>
[Collection("daemon")]
public sealed class FakeProducerTests
{
    private sealed class FlakyProducer : ICaptionProducer
    {
        private int _runs;

        public Channel<Caption> Captions { get; } = Channel.CreateUnbounded<Caption>();

        public int Runs => _runs;

        public ProducerHealth Health => new()
        {
            Producer = "fake",
            State = "listening",
            Listening = true,
            Task = "asr",
            TaskReason = "no camera",
            LiveModalities = ["audio"],
            Devices = [new DeviceHealth("mic", "microphone", true, null), new DeviceHealth("cam", "camera", false, "gone")],
            Stages = [new StageLatency("encoders", 12.5, 10)],
            Queues = [new QueueDepth("decoder", 2)],
            PartialsDropped = 3,
        };

        public async IAsyncEnumerable<Caption> RunAsync([EnumeratorCancellation] CancellationToken drain)
        {
            if (Interlocked.Increment(ref _runs) == 1)
            {
                throw new EdgeAvsrException("camera /dev/video0 fell off the bus");
            }
            Caption? inFlight = null;
            while (true)
            {
                Caption next;
                try
                {
                    next = await Captions.Reader.ReadAsync(drain);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                inFlight = next.IsFinal ? null : next;
                yield return next;
            }
            if (inFlight is not null)
            {
                yield return inFlight with { IsFinal = true, Text = inFlight.Text + " (flushed)" };
            }
        }
    }

    private static Caption Make(int utterance, bool final, string text) => new()
    {
        Utterance = utterance,
        IsFinal = final,
        Task = AvsrTask.Asr,
        Start = 0,
        End = 1,
        DecidedAt = 1,
        Text = text,
        Tokens = [],
        AverageLogProbability = 0,
        Stop = StopReason.EndOfGeneration,
        AudioSamples = (0, 16_000),
        VideoFrames = (0, 0),
        Timings = StageTimings.Zero,
    };

    [Fact]
    public async Task A_producer_that_throws_is_started_again_and_a_stop_drains_its_utterance_in_flight()
    {
        using var dir = new TempDir();
        var producer = new FlakyProducer();
        var app = ServeDaemon.Build(new ServeOptions { Port = 0, Journal = dir.File("journal.jsonl"), Replay = "unused" }, producer);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        using var client = new HttpClient { BaseAddress = new Uri(address + "/") };

        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (producer.Runs < 2)
        {
            Assert.True(DateTime.UtcNow < until, "the producer was not started again");
            await Task.Delay(50);
        }
        using (var health = JsonDocument.Parse(await client.GetStringAsync(new Uri("health", UriKind.Relative))))
        {
            var root = health.RootElement;
            Assert.Equal(1, root.GetProperty("producer_restarts").GetInt32());
            Assert.Equal("camera /dev/video0 fell off the bus", root.GetProperty("last_fault").GetString());
            var p = root.GetProperty("producer");
            Assert.Equal("no camera", p.GetProperty("task_reason").GetString());
            Assert.False(p.GetProperty("devices")[1].GetProperty("live").GetBoolean());
            Assert.Equal(12.5, p.GetProperty("stages")[0].GetProperty("last_ms").GetDouble());
            Assert.Equal(2, p.GetProperty("queues")[0].GetProperty("depth").GetInt32());
            Assert.Equal(3, p.GetProperty("partials_dropped").GetInt32());
        }

        await producer.Captions.Writer.WriteAsync(Make(1, true, "first"));
        await producer.Captions.Writer.WriteAsync(Make(2, false, "second in fl"));
        until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!(await client.GetStringAsync(new Uri("health", UriKind.Relative))).Contains("\"partials\":1", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < until, "the partial was not published");
            await Task.Delay(50);
        }
        await app.StopAsync();
        await app.DisposeAsync();

        var texts = File.ReadAllLines(dir.File("journal.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("text").GetString());
        Assert.Equal(["first", "second in fl (flushed)"], texts);
    }
}
