using System.Device.Gpio;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;
using EdgeAvsr.Device.Config;
using EdgeAvsr.Device.Gpio;
using EdgeAvsr.Device.Tests.Gpio;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Pipeline;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeAvsr.Serve.Tests;

/// <summary>
/// The GPIO panel in the daemon: in-process on the fake chip and backpack (the button turns listening on and off, captions
/// reach the LCD, /health shows the button), and the real daemon process with a gpio section whose chip does not exist.
/// </summary>
[Collection("daemon")]
public sealed class GpioDaemonTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(20);

    private const int ButtonPin = 17, ListeningPin = 5, ThinkingPin = 6, ErrorPin = 13;

    /// <summary>A producer that listens only while the switch is on, as the live producer does with its gate.</summary>
    private sealed class SwitchedProducer(TalkSwitch talk) : ICaptionProducer
    {
        public Channel<Caption> Captions { get; } = Channel.CreateUnbounded<Caption>();

        public ProducerHealth Health => new()
        {
            Producer = "fake",
            State = talk.Talking ? "listening" : "paused",
            Listening = talk.Talking,
            Task = talk.Talking ? "asr" : null,
            Devices = [new DeviceHealth("microphone", "hw:1,0", true, null)],
        };

        public async IAsyncEnumerable<Caption> RunAsync([EnumeratorCancellation] CancellationToken drain)
        {
            while (true)
            {
                Caption next;
                try
                {
                    next = await Captions.Reader.ReadAsync(drain);
                }
                catch (OperationCanceledException)
                {
                    yield break;
                }
                yield return next;
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

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        var until = DateTime.UtcNow + s_wait;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < until, $"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }

    private static async Task<JsonElement> HealthAsync(HttpClient client)
    {
        using var doc = JsonDocument.Parse(await client.GetStringAsync(new Uri("health", UriKind.Relative)));
        return doc.RootElement.Clone();
    }

    [Fact]
    public async Task The_button_turns_listening_on_and_off_and_finals_reach_the_lcd()
    {
        using var dir = new TempDir();
        var driver = new FakeGpioDriver();
        var lcd = new FakeLcdI2cDevice();
        var gpio = new GpioConfig
        {
            ButtonPin = ButtonPin, ListeningLedPin = ListeningPin, ThinkingLedPin = ThinkingPin, ErrorLedPin = ErrorPin,
            ButtonDebounce = TimeSpan.FromMilliseconds(10), ButtonHoldThreshold = TimeSpan.FromSeconds(5),
        };
        using var panel = GpioPanel.Open(new DeviceConfig { Gpio = gpio, Lcd = new LcdConfig() }, _ => driver, _ => lcd);
        var producer = new SwitchedProducer(panel.Talk);
        var app = ServeDaemon.Build(new ServeOptions { Port = 0, Journal = dir.File("journal.jsonl"), Replay = "unused" }, producer, panel);
        await app.StartAsync();
        try
        {
            string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            using var client = new HttpClient { BaseAddress = new Uri(address + "/") };
            bool Lit(int pin) => driver.ValueOf(pin) == PinValue.High;
            string Row(int r) => lcd.Rows[r].TrimEnd();

            // Push-to-talk, not held: not listening, and the LCD says how to start.
            await WaitForAsync(() => Row(0) == "hold to talk", "the idle line");
            Assert.False(Lit(ListeningPin));
            var health = await HealthAsync(client);
            Assert.Equal("ok", health.GetProperty("status").GetString());
            var g = health.GetProperty("gpio");
            Assert.Equal("/dev/gpiochip0", g.GetProperty("chip").GetString());
            Assert.True(g.GetProperty("chip_open").GetBoolean());
            Assert.Equal(0, g.GetProperty("problems").GetArrayLength());
            Assert.Equal("push_to_talk", g.GetProperty("button").GetProperty("mode").GetString());
            Assert.False(g.GetProperty("button").GetProperty("talking").GetBoolean());
            Assert.False(health.GetProperty("producer").GetProperty("listening").GetBoolean());

            // Held: listening, on the LED, the LCD and /health.
            driver.Drive(ButtonPin, PinValue.Low);
            await WaitForAsync(() => Lit(ListeningPin) && Row(0) == "ASR listening", "listening after the press");
            health = await HealthAsync(client);
            var button = health.GetProperty("gpio").GetProperty("button");
            Assert.True(button.GetProperty("down").GetBoolean());
            Assert.True(button.GetProperty("talking").GetBoolean());
            Assert.Equal(1, button.GetProperty("presses").GetInt32());
            Assert.True(health.GetProperty("producer").GetProperty("listening").GetBoolean());
            Assert.True(health.GetProperty("gpio").GetProperty("leds").GetProperty("listening").GetBoolean());

            // A partial: thinking. Its final: on the LCD, and thinking ends.
            await producer.Captions.Writer.WriteAsync(Make(1, false, "place blue in"));
            await WaitForAsync(() => Lit(ThinkingPin), "thinking while partials flow");
            await producer.Captions.Writer.WriteAsync(Make(1, true, "place blue in a four now"));
            await WaitForAsync(() => Row(0) == "place blue in a" && Row(1) == "four now" && !Lit(ThinkingPin), "the final on the LCD");
            Assert.False(Lit(ErrorPin));
            health = await HealthAsync(client);
            Assert.Equal(["place blue in a ", "four now        "],
                health.GetProperty("gpio").GetProperty("lcd").GetProperty("rows").EnumerateArray().Select(r => r.GetString()));

            // Released: listening off; the caption stays.
            driver.Drive(ButtonPin, PinValue.High);
            await WaitForAsync(() => !Lit(ListeningPin), "not listening after the release");
            health = await HealthAsync(client);
            Assert.False(health.GetProperty("gpio").GetProperty("button").GetProperty("talking").GetBoolean());
            Assert.Equal("four now", Row(1));
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_gpio_chip_that_does_not_exist_is_in_health_and_the_log_and_captions_still_flow()
    {
        using var dir = new TempDir();
        using var fifo = new ReplayFifo(dir.File("captions.fifo"));
        int chip = Enumerable.Range(0, 64).First(n => !File.Exists($"/dev/gpiochip{n}"));
        int bus = Enumerable.Range(0, 256).First(n => !File.Exists($"/dev/i2c-{n}"));
        string devices = dir.File("devices.json");
        File.WriteAllText(devices, $$"""
            { "gpio": { "chip": {{chip}}, "button_pin": 17, "listening_led_pin": 5, "thinking_led_pin": 6, "error_led_pin": 13 },
              "lcd": { "i2c_bus": {{bus}} } }
            """);
        using var daemon = DaemonProcess.Start(DaemonProcess.FreePort(),
            ["--replay", fifo.Path, "--devices", devices, "--journal", dir.File("journal.jsonl")]);
        await daemon.WaitListeningAsync();

        string problem = $"gpio.chip: /dev/gpiochip{chip} does not exist";
        await WaitForAsync(() => daemon.Log.Contains($"gpio panel: {problem}", StringComparison.Ordinal), $"the log line about the chip:\n{daemon.Log}");
        using (var health = await daemon.GetJsonAsync("health"))
        {
            var root = health.RootElement;
            Assert.Equal("degraded", root.GetProperty("status").GetString());
            var g = root.GetProperty("gpio");
            Assert.Equal($"/dev/gpiochip{chip}", g.GetProperty("chip").GetString());
            Assert.False(g.GetProperty("chip_open").GetBoolean());
            string[] problems = [.. g.GetProperty("problems").EnumerateArray().Select(p => p.GetString()!)];
            Assert.StartsWith(problem, problems[0], StringComparison.Ordinal);
            Assert.Contains(problems, p => p.StartsWith("lcd.", StringComparison.Ordinal) && p.Contains($"/dev/i2c-{bus}", StringComparison.Ordinal));
            // The button cannot be read, so it holds nothing back.
            var button = g.GetProperty("button");
            Assert.False(button.GetProperty("working").GetBoolean());
            Assert.True(button.GetProperty("talking").GetBoolean());
            Assert.False(g.GetProperty("lcd").GetProperty("open").GetBoolean());
        }

        using var client = daemon.Client();
        using var sse = await SseStream.OpenAsync(client, "captions");
        await fifo.WriteAsync(ReplayFifo.Caption(1, false, "still capt"), ReplayFifo.Caption(1, true, "still captioning"));
        var final = await sse.NextAsync("final", s_wait);
        Assert.Equal("still captioning", JsonDocument.Parse(final.Data).RootElement.GetProperty("text").GetString());
        using (var history = await daemon.GetJsonAsync("captions/history"))
        {
            Assert.Equal(["still captioning"], history.RootElement.GetProperty("captions").EnumerateArray().Select(c => c.GetProperty("text").GetString()));
        }
        Assert.False(daemon.HasExited);
        Assert.Equal(0, await daemon.TerminateAsync());
    }
}
