using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Pipeline;

namespace EdgeAvsr.Serve;

/// <summary>
/// One line of a replay file: a caption (<c>utterance</c>, <c>final</c>, <c>text</c>; <c>task</c>, <c>start</c>,
/// <c>end</c>, <c>at</c> optional), or a change of live streams (<c>live</c>: ["audio", "video"]) as a device source
/// reports it in band.
/// </summary>
internal sealed record ReplayLine
{
    public int? Utterance { get; init; }

    public bool? Final { get; init; }

    public string? Text { get; init; }

    public string? Task { get; init; }

    public double? Start { get; init; }

    public double? End { get; init; }

    /// <summary>Stream time (seconds after the producer started) to publish at; default <see cref="End"/>.</summary>
    public double? At { get; init; }

    public string[]? Live { get; init; }
}

/// <summary>
/// Captions from a JSON-lines file or FIFO, each published at its stream time relative to the producer's start
/// (a line whose time has passed goes out at once). A FIFO is opened again after each writer closes it; a regular
/// file ends the replay at its end. A bad line is logged with its number and skipped. On a drain, the final of the
/// utterance in flight is published: the file's own if it is already readable, else the last partial made final,
/// as the pipeline's flush decodes what it has.
/// </summary>
public sealed class ReplayCaptionProducer : ICaptionProducer
{
    private readonly string _path;
    private readonly Action<string> _log;
    private readonly Lock _lock = new();
    private ProducerHealth _health;

    public ReplayCaptionProducer(string path, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        _path = path;
        _log = log ?? (_ => { });
        _health = InitialHealth();
    }

    public ProducerHealth Health
    {
        get
        {
            lock (_lock)
            {
                return _health;
            }
        }
    }

    public async IAsyncEnumerable<Caption> RunAsync([EnumeratorCancellation] CancellationToken drain)
    {
        if (!File.Exists(_path))
        {
            throw new EdgeAvsrException($"{_path}: no such replay captions file or FIFO");
        }
        var clock = Stopwatch.StartNew();
        var lines = Channel.CreateUnbounded<(int Number, string? Text)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        // Opening and reading a FIFO block in the kernel; a background thread keeps that off the pool and is left behind on exit.
        var pump = new Thread(() => Pump(lines.Writer)) { IsBackground = true, Name = "replay reader" };
        pump.Start();
        Caption? inFlight = null;
        Caption? pending = null;
        while (!drain.IsCancellationRequested)
        {
            var (number, text) = await NextLineAsync(lines.Reader, drain).ConfigureAwait(false);
            if (number < 0)
            {
                break;
            }
            if (text is null)
            {
                SetState("finished", listening: false);
                yield break;
            }
            if (Parse(text, number) is not { } caption)
            {
                continue;
            }
            double wait = caption.DecidedAt - clock.Elapsed.TotalSeconds;
            if (wait > 0 && !await DelayAsync(TimeSpan.FromSeconds(wait), drain).ConfigureAwait(false))
            {
                pending = caption;
                break;
            }
            inFlight = caption.IsFinal ? null : caption;
            yield return caption;
        }
        if (Flush(inFlight, pending, lines.Reader) is { } last)
        {
            yield return last;
        }
        SetState("drained", listening: false);
    }

    // The final of the utterance in flight: from the lines already read, or the last partial made final.
    private Caption? Flush(Caption? inFlight, Caption? pending, ChannelReader<(int Number, string? Text)> lines)
    {
        if (inFlight is null)
        {
            return null; // nothing of the pending caption's utterance was published: nothing to finish
        }
        var candidate = pending;
        while (candidate is not { IsFinal: true } || candidate.Utterance != inFlight.Utterance)
        {
            if (candidate is not null && candidate.Utterance == inFlight.Utterance)
            {
                inFlight = candidate;
            }
            if (!lines.TryRead(out var line) || line.Text is null)
            {
                candidate = null;
                break;
            }
            candidate = Parse(line.Text, line.Number);
        }
        return candidate ?? inFlight with { IsFinal = true };
    }

    private static async Task<(int Number, string? Text)> NextLineAsync(ChannelReader<(int Number, string? Text)> reader, CancellationToken drain)
    {
        try
        {
            return await reader.ReadAsync(drain).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return (-1, null);
        }
    }

    private static async Task<bool> DelayAsync(TimeSpan wait, CancellationToken drain)
    {
        try
        {
            await Task.Delay(wait, drain).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private void Pump(ChannelWriter<(int Number, string? Text)> writer)
    {
        int number = 0;
        try
        {
            while (true)
            {
                SetState("waiting", listening: true);
                using var stream = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
                using var reader = new StreamReader(stream);
                SetState("listening", listening: true);
                while (reader.ReadLine() is { } line)
                {
                    number++;
                    writer.TryWrite((number, line));
                }
                if (stream.CanSeek)
                {
                    break; // a regular file: replayed once
                }
            }
        }
        catch (IOException e)
        {
            _log($"replay {_path}: {e.Message}");
        }
        writer.TryWrite((number + 1, null));
        writer.TryComplete();
    }

    private Caption? Parse(string text, int number)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        ReplayLine? line;
        try
        {
            line = JsonSerializer.Deserialize(text, ServeJsonContext.Default.ReplayLine);
        }
        catch (JsonException e)
        {
            _log($"replay {_path} line {number}: skipped, not a caption line ({e.Message.Split(" Path:", 2)[0]})");
            return null;
        }
        if (line is { Live: { } live, Text: null })
        {
            lock (_lock)
            {
                _health = _health with { LiveModalities = [.. live], Devices = Devices(_health.State, live.Length > 0) };
            }
            return null;
        }
        if (line is not { Utterance: { } utterance, Final: { } final, Text: { } words })
        {
            _log($"replay {_path} line {number}: skipped, a caption needs utterance, final and text");
            return null;
        }
        var task = AvsrTask.Avsr;
        if (line.Task is { } t && !EnumText<AvsrTask>.TryParse(t, out task))
        {
            _log($"replay {_path} line {number}: skipped, task '{t}' is not asr, vsr or avsr");
            return null;
        }
        double start = line.Start ?? 0, end = Math.Max(start, line.End ?? start);
        lock (_lock)
        {
            if (_health.Task != EnumText<AvsrTask>.ToText(task))
            {
                _health = _health with { Task = EnumText<AvsrTask>.ToText(task), LiveModalities = Modalities(task) };
            }
            _health = _health with { Utterances = Math.Max(_health.Utterances, utterance) };
        }
        return new Caption
        {
            Utterance = utterance,
            IsFinal = final,
            Task = task,
            Start = start,
            End = end,
            DecidedAt = line.At ?? end,
            Text = words,
            Tokens = [],
            AverageLogProbability = 0,
            Stop = StopReason.EndOfGeneration,
            AudioSamples = task == AvsrTask.Vsr ? (0, 0) : ((long)(start * 16_000), (long)((end - start) * 16_000)),
            VideoFrames = task == AvsrTask.Asr ? (0, 0) : ((long)(start * 25), (long)((end - start) * 25)),
            Timings = StageTimings.Zero,
        };
    }

    private static string[] Modalities(AvsrTask task) => task switch
    {
        AvsrTask.Asr => ["audio"],
        AvsrTask.Vsr => ["video"],
        _ => ["audio", "video"],
    };

    private void SetState(string state, bool listening)
    {
        lock (_lock)
        {
            _health = _health with { State = state, Listening = listening, Devices = Devices(state, listening) };
        }
    }

    private DeviceHealth[] Devices(string state, bool live) => [new DeviceHealth("replay", "captions file", live, $"{_path} ({state})")];

    private ProducerHealth InitialHealth() => new()
    {
        Producer = "replay",
        State = "starting",
        Devices = Devices("starting", false),
    };
}
