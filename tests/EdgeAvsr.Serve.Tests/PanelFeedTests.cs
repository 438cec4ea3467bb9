using System.Device.Gpio;
using EdgeAvsr.Device.Config;
using EdgeAvsr.Device.Gpio;
using EdgeAvsr.Device.Tests.Gpio;

namespace EdgeAvsr.Serve.Tests;

/// <summary>
/// Status and captions in, LED pin levels and LCD text out: <see cref="PanelFeed"/> composes, a <see cref="GpioPanel"/> on the
/// fake chip and the fake backpack shows, and the test reads the pins and the 2x16 character buffer.
/// </summary>
public sealed class PanelFeedTests
{
    private const int ListeningPin = 5, ThinkingPin = 6, ErrorPin = 13;

    private static readonly GpioConfig Pins = new() { ListeningLedPin = ListeningPin, ThinkingLedPin = ThinkingPin, ErrorLedPin = ErrorPin };

    /// <summary>A clock the test moves (the feed keeps a fault on the error LED for a while).</summary>
    private sealed class ManualTime : TimeProvider
    {
        public TimeSpan Now { get; set; } = TimeSpan.FromHours(1);

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Now.Ticks;
    }

    private sealed class Bench : IDisposable
    {
        private readonly GpioPanel _panel;

        public Bench()
        {
            _panel = GpioPanel.Open(new DeviceConfig { Gpio = Pins, Lcd = new LcdConfig() }, _ => Driver, _ => Lcd);
            Feed = new PanelFeed(Time);
        }

        public FakeGpioDriver Driver { get; } = new();

        public FakeLcdI2cDevice Lcd { get; } = new();

        public ManualTime Time { get; } = new();

        public PanelFeed Feed { get; }

        /// <summary>Composes and shows; returns the LEDs as "LTE" letters (lit) or '-' (dark), read from the pins.</summary>
        public string Show(ProducerHealth health, string? lastFinal = null, TimeSpan? inFlightAge = null, int producerRestarts = 0,
            bool stopping = false, ButtonMode? button = null)
        {
            _panel.Show(Feed.Compose(health, producerRestarts, lastFinal, inFlightAge, stopping, button));
            return string.Concat(new[] { (ListeningPin, 'L'), (ThinkingPin, 'T'), (ErrorPin, 'E') }
                .Select(p => Driver.ValueOf(p.Item1) == PinValue.High ? p.Item2 : '-'));
        }

        public string[] Rows => [.. Lcd.Rows.Select(r => r.TrimEnd())];

        public void Dispose() => _panel.Dispose();
    }

    private static readonly DeviceHealth Camera = new("camera", "/dev/video0", true, null);
    private static readonly DeviceHealth Microphone = new("microphone", "hw:1,0", true, null);

    private static ProducerHealth Live(string state = "listening", string? task = "avsr", string? reason = null, bool cameraLive = true,
        bool microphoneLive = true, int restarts = 0, int queued = 0) => new()
    {
        Producer = "live",
        State = state,
        Listening = state == "listening" && task is not null,
        Task = task,
        TaskReason = reason,
        Devices = [Camera with { Live = cameraLive }, Microphone with { Live = microphoneLive }],
        Restarts = restarts,
        Queues = [new QueueDepth("cut", 0), new QueueDepth("featured", queued)],
    };

    [Fact]
    public void Listening_thinking_and_the_last_final()
    {
        using var bench = new Bench();
        Assert.Equal("---", bench.Show(Live(state: "starting", task: null, cameraLive: false, microphoneLive: false)));
        Assert.Equal(["starting", ""], bench.Rows);

        Assert.Equal("L--", bench.Show(Live()));
        Assert.Equal(["AVSR listening", ""], bench.Rows);

        // Partials flowing: thinking. A partial that went quiet long ago is not.
        Assert.Equal("LT-", bench.Show(Live(), inFlightAge: TimeSpan.FromMilliseconds(300)));
        Assert.Equal("L--", bench.Show(Live(), inFlightAge: TimeSpan.FromSeconds(3)));
        // Work queued in the pipeline (a final being decoded after the speech ended): thinking.
        Assert.Equal("LT-", bench.Show(Live(queued: 1)));

        Assert.Equal("L--", bench.Show(Live(), lastFinal: "place blue in a four now"));
        Assert.Equal(["place blue in a", "four now"], bench.Rows);
        Assert.Equal("L--", bench.Show(Live(), lastFinal: "bin red at g six"));
        Assert.Equal(["bin red at g six", ""], bench.Rows);
    }

    [Fact]
    public void A_device_down_or_a_fallback_task_lights_error_and_takes_the_first_row()
    {
        using var bench = new Bench();
        string final = "place blue in a four now";
        Assert.Equal("L-E", bench.Show(Live(task: "asr", reason: "the camera stopped: ASR", cameraLive: false), final));
        Assert.Equal(["ASR: no camera", "four now"], bench.Rows);

        Assert.Equal("L-E", bench.Show(Live(task: "vsr", reason: "the microphone stopped: VSR", microphoneLive: false), final));
        Assert.Equal(["VSR: no mic", "four now"], bench.Rows);

        Assert.Equal("--E", bench.Show(Live(state: "waiting", task: null, reason: "no stream live", cameraLive: false, microphoneLive: false)));
        Assert.Equal(["no camera or mic", ""], bench.Rows);

        // Both back: the error goes and the caption has both rows again.
        Assert.Equal("L--", bench.Show(Live(), final));
        Assert.Equal(["place blue in a", "four now"], bench.Rows);

        Assert.Equal("--E", bench.Show(Live(state: "faulted", task: "avsr"), final));
        Assert.Equal(["captioning fault", "four now"], bench.Rows);
    }

    [Fact]
    public void A_restart_keeps_the_error_led_lit_for_a_while()
    {
        using var bench = new Bench();
        string final = "bin red at g six";
        Assert.Equal("L--", bench.Show(Live(), final));
        // A stage restarted by the captioner, then the producer restarted by the daemon: each is a fault.
        Assert.Equal("L-E", bench.Show(Live(restarts: 1), final));
        Assert.Equal(["fault: restarted", "bin red at g six"], bench.Rows);
        bench.Time.Now += PanelFeed.FaultShown - TimeSpan.FromSeconds(1);
        Assert.Equal("L-E", bench.Show(Live(restarts: 1), final));
        bench.Time.Now += TimeSpan.FromSeconds(2);
        Assert.Equal("L--", bench.Show(Live(restarts: 1), final));
        Assert.Equal(["bin red at g six", ""], bench.Rows);
        Assert.Equal("L-E", bench.Show(Live(restarts: 1), final, producerRestarts: 1));
    }

    [Fact]
    public void The_button_paused_state_and_stopping()
    {
        using var bench = new Bench();
        // Push-to-talk, not held: nothing listens, and the LCD says how to start; no error for the streams the button took away.
        Assert.Equal("---", bench.Show(Live(state: "paused", task: null, reason: "no stream live"), button: ButtonMode.PushToTalk));
        Assert.Equal(["hold to talk", ""], bench.Rows);
        Assert.Equal("---", bench.Show(Live(state: "paused", task: null, reason: "no stream live"), button: ButtonMode.Toggle));
        Assert.Equal(["press to talk", ""], bench.Rows);
        // Paused with a caption shown: the caption stays.
        Assert.Equal("---", bench.Show(Live(state: "paused", task: null, reason: "no stream live"), "four now", button: ButtonMode.PushToTalk));
        Assert.Equal(["four now", ""], bench.Rows);

        Assert.Equal("---", bench.Show(Live(), "four now", stopping: true));
        Assert.Equal(["stopping", "four now"], bench.Rows);
    }

    [Fact]
    public void A_replay_that_has_not_started_or_has_ended_is_no_error()
    {
        using var bench = new Bench();
        var replay = new ProducerHealth { Producer = "replay", State = "finished", Devices = [new DeviceHealth("replay", "captions.jsonl", false, null)] };
        Assert.Equal("---", bench.Show(replay, "the end"));
        Assert.Equal(["the end", ""], bench.Rows);
        Assert.Equal("---", bench.Show(replay with { State = "starting" }));
        Assert.Equal(["starting", ""], bench.Rows);
        Assert.Equal("L--", bench.Show(replay with { State = "listening", Listening = true, Devices = [replay.Devices[0] with { Live = true }] }));
        Assert.Equal(["listening", ""], bench.Rows);
    }
}
