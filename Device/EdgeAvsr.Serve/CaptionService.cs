using System.Diagnostics;
using EdgeAvsr.Runtime;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeAvsr.Serve;

/// <summary>
/// Runs the producer and publishes what it yields. A stop (SIGTERM) drains: the producer flushes the utterance in
/// flight, its final is journaled and sent, then the open streams end. A producer that throws is logged and started
/// again after a pause: the daemon does not exit on a device or pipeline fault.
/// </summary>
internal sealed partial class CaptionService(
    ICaptionProducer producer, CaptionHub hub, ServeOptions options, IHostApplicationLifetime lifetime, ILogger<CaptionService> logger) : BackgroundService
{
    private static readonly TimeSpan s_statusInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan s_restartPause = TimeSpan.FromSeconds(1);
    private long _heartbeat = Stopwatch.GetTimestamp();

    /// <summary>When the service's loops last proved alive (the watchdog pings only while this is recent).</summary>
    public TimeSpan SinceHeartbeat => Stopwatch.GetElapsedTime(Interlocked.Read(ref _heartbeat));

    /// <summary>Last producer fault, for /health.</summary>
    public string? LastFault { get; private set; }

    public int ProducerRestarts { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        // The drain starts as soon as the host begins stopping, before the web server waits for open streams to end.
        using var drain = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, lifetime.ApplicationStopping);
        using var statusStop = new CancellationTokenSource();
        var status = StatusLoopAsync(statusStop.Token);
        try
        {
            while (!drain.IsCancellationRequested)
            {
                var run = PublishAllAsync(drain.Token);
                // A drain that outlasts its limit is abandoned: what was journaled stays, the rest of the utterance is lost.
                using var giveUp = new CancellationTokenSource();
                using var _ = drain.Token.Register(() => giveUp.CancelAfter(TimeSpan.FromSeconds(options.DrainSeconds)));
                var finished = await Task.WhenAny(run, Task.Delay(Timeout.Infinite, giveUp.Token)).ConfigureAwait(false);
                if (finished != run)
                {
                    LogDrainAbandoned(logger, options.DrainSeconds);
                    break;
                }
                if (await run.ConfigureAwait(false) is { } fault)
                {
                    LastFault = fault.Message;
                    ProducerRestarts++;
                    // A device or file fault (EdgeAvsrException) is one line; anything else is a bug and keeps its stack.
                    LogProducerFault(logger, fault.Message, fault is EdgeAvsrException ? null : fault);
                    await Task.Delay(s_restartPause, drain.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    continue;
                }
                if (!drain.IsCancellationRequested)
                {
                    LogProducerEnded(logger);
                }
                // Input ended (a replayed file): keep serving history until stopped.
                await Task.Delay(Timeout.Infinite, drain.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
        finally
        {
            await statusStop.CancelAsync().ConfigureAwait(false);
            await status.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            PublishStatus();
            hub.Complete();
            LogDrained(logger, hub.Journal.LastId);
        }
    }

    // Null when the producer ended (input over or drained), else what it threw.
    private async Task<Exception?> PublishAllAsync(CancellationToken drain)
    {
        try
        {
            await foreach (var caption in producer.RunAsync(drain).ConfigureAwait(false))
            {
                var record = hub.Publish(caption);
                Interlocked.Exchange(ref _heartbeat, Stopwatch.GetTimestamp());
                if (record.Final)
                {
                    LogFinal(logger, record.Id ?? 0, record.Utterance);
                }
            }
            return null;
        }
        catch (Exception e) when (e is not OperationCanceledException || !drain.IsCancellationRequested)
        {
            return e;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    private async Task StatusLoopAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(s_statusInterval);
        var lastRetention = Stopwatch.GetTimestamp();
        do
        {
            Interlocked.Exchange(ref _heartbeat, Stopwatch.GetTimestamp());
            PublishStatus();
            if (Stopwatch.GetElapsedTime(lastRetention) > TimeSpan.FromMinutes(10))
            {
                hub.Journal.ApplyRetention(DateTimeOffset.UtcNow);
                lastRetention = Stopwatch.GetTimestamp();
            }
        }
        while (await Ticks.NextAsync(timer, stop).ConfigureAwait(false));
    }

    private void PublishStatus()
    {
        var h = producer.Health;
        bool stopping = lifetime.ApplicationStopping.IsCancellationRequested;
        string state = stopping ? "stopping" : h.State;
        hub.PublishStatus(new StatusEvent(hub.Run, h.Producer, state, h.Listening && !stopping, h.Task, h.TaskReason, h.LiveModalities));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "final {Id} published (utterance {Utterance})")]
    private static partial void LogFinal(ILogger logger, long id, int utterance);

    [LoggerMessage(Level = LogLevel.Error, Message = "caption producer failed: {Message}; starting it again")]
    private static partial void LogProducerFault(ILogger logger, string message, Exception? exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "caption producer ended its input; serving history until stopped")]
    private static partial void LogProducerEnded(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "drain took longer than {Seconds} s; stopping without the utterance in flight")]
    private static partial void LogDrainAbandoned(ILogger logger, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "drained; the journal ends at id {LastId}")]
    private static partial void LogDrained(ILogger logger, long lastId);
}
