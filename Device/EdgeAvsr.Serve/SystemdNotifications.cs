using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;

namespace EdgeAvsr.Serve;

/// <summary>
/// Talks to systemd through its notify socket (<c>NOTIFY_SOCKET</c>, Type=notify): READY=1 once the server listens,
/// STOPPING=1 when a stop begins, and WATCHDOG=1 at half of <c>WATCHDOG_USEC</c> while the caption service's loops
/// are alive, so a hung daemon is restarted by systemd. Does nothing without a notify socket.
/// </summary>
internal sealed partial class SystemdNotifications(
    ISystemdNotifier notifier, CaptionService captions, IHostApplicationLifetime lifetime, ILogger<SystemdNotifications> logger) : BackgroundService
{
    /// <summary>The keep-alive period systemd asks for (<c>WATCHDOG_USEC</c>), unless <c>WATCHDOG_PID</c> names another process.</summary>
    public static TimeSpan? WatchdogInterval()
    {
        if (Environment.GetEnvironmentVariable("WATCHDOG_PID") is { Length: > 0 } pid
            && (!int.TryParse(pid, NumberStyles.None, CultureInfo.InvariantCulture, out int p) || p != Environment.ProcessId))
        {
            return null;
        }
        return long.TryParse(Environment.GetEnvironmentVariable("WATCHDOG_USEC"), NumberStyles.None, CultureInfo.InvariantCulture, out long usec) && usec > 0
            ? TimeSpan.FromMicroseconds(usec)
            : null;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!notifier.IsEnabled)
        {
            return;
        }
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var onStarted = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        using var onStopping = lifetime.ApplicationStopping.Register(() => notifier.Notify(ServiceState.Stopping));
        await started.Task.WaitAsync(stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (stoppingToken.IsCancellationRequested)
        {
            return;
        }
        notifier.Notify(ServiceState.Ready);
        LogReady(logger);
        if (WatchdogInterval() is not { } interval)
        {
            await Task.Delay(Timeout.Infinite, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            return;
        }
        using var timer = new PeriodicTimer(interval / 2);
        while (await Ticks.NextAsync(timer, stoppingToken).ConfigureAwait(false))
        {
            if (captions.SinceHeartbeat < interval)
            {
                notifier.Notify(new ServiceState("WATCHDOG=1"));
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "told systemd READY=1")]
    private static partial void LogReady(ILogger logger);
}
