using EdgeAvsr.Device.Gpio;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeAvsr.Serve;

/// <summary>
/// Keeps the GPIO panel (LEDs, LCD) in step with the daemon: every <see cref="Interval"/> it composes the panel's state from
/// the producer's health and the caption hub (<see cref="PanelFeed"/>) and shows it. Parts that cannot be opened or driven
/// are logged once each as warnings and reported in /health; they never stop the daemon or its captions.
/// </summary>
internal sealed partial class GpioPanelService(
    GpioPanel panel, ICaptionProducer producer, CaptionHub hub, CaptionService captions, IHostApplicationLifetime lifetime,
    ILogger<GpioPanelService> logger) : BackgroundService
{
    /// <summary>Fast enough that a press or a final shows at once to a person, slow enough to cost nothing.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    private readonly PanelFeed _feed = new(TimeProvider.System);
    private int _problemsLogged;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        panel.Talk.Changed += (_, talking) => LogTalking(logger, talking ? "on" : "off");
        using var timer = new PeriodicTimer(Interval);
        do
        {
            Update();
        }
        while (await Ticks.NextAsync(timer, stoppingToken).ConfigureAwait(false));
        Update();
    }

    private void Update()
    {
        var state = _feed.Compose(producer.Health, captions.ProducerRestarts, hub.LastFinal?.Text, hub.InFlightAge,
            lifetime.ApplicationStopping.IsCancellationRequested, panel.Talk.Mode);
        panel.Show(state);
        var problems = panel.Problems;
        for (; _problemsLogged < problems.Count; _problemsLogged++)
        {
            LogProblem(logger, problems[_problemsLogged]);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "gpio panel: {Problem}; captioning goes on without it")]
    private static partial void LogProblem(ILogger logger, string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "gpio panel: the button turned captioning {State}")]
    private static partial void LogTalking(ILogger logger, string state);
}
