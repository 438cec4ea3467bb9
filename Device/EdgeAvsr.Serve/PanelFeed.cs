using EdgeAvsr.Device.Config;
using EdgeAvsr.Device.Gpio;

namespace EdgeAvsr.Serve;

/// <summary>
/// What the GPIO panel shows, from what the daemon already publishes: the producer's health snapshot, its restarts, the
/// newest final and the partial in flight. It reads nothing else, so the panel stays downstream of the pipeline.
/// <list type="bullet">
/// <item>listening: the producer listens (the button allows it and a task runs);</item>
/// <item>thinking: a partial was published in the last <see cref="PartialsFlowing"/> and its final has not come, or a
/// pipeline queue holds work (an utterance being decoded);</item>
/// <item>error: a device is down, the task in use is a fallback (or none can run), the captioner stopped, or the producer or
/// a stage was restarted in the last <see cref="FaultShown"/>.</item>
/// </list>
/// The LCD shows the newest final; its first row gives way to a one-line state when something is wrong ("ASR: no camera")
/// or no caption has come yet ("AVSR listening", "hold to talk").
/// </summary>
internal sealed class PanelFeed(TimeProvider time)
{
    /// <summary>How long a fault keeps the error LED lit after a restart.</summary>
    public static readonly TimeSpan FaultShown = TimeSpan.FromSeconds(10);

    /// <summary>Partials come every few hundred ms while speech runs; a partial older than this is an utterance that went quiet.</summary>
    public static readonly TimeSpan PartialsFlowing = TimeSpan.FromSeconds(2);

    private int _restarts = -1;
    private long _faultAt;
    private bool _faulted;

    /// <param name="health">The producer's snapshot.</param>
    /// <param name="producerRestarts">Times the daemon started the producer again after it threw.</param>
    /// <param name="lastFinal">The newest final caption, if any.</param>
    /// <param name="inFlightAge">How long ago the partial in flight was published; null when none is.</param>
    /// <param name="stopping">The daemon is draining.</param>
    /// <param name="buttonMode">The working button's mode; null without one.</param>
    public PanelState Compose(ProducerHealth health, int producerRestarts, string? lastFinal, TimeSpan? inFlightAge, bool stopping, ButtonMode? buttonMode)
    {
        ArgumentNullException.ThrowIfNull(health);
        int restarts = health.Restarts + producerRestarts;
        if (_restarts >= 0 && restarts != _restarts)
        {
            _faultAt = time.GetTimestamp();
            _faulted = true;
        }
        _restarts = restarts;
        bool recentFault = _faulted && time.GetElapsedTime(_faultAt) < FaultShown;

        // Before the devices first deliver, and after a replayed file ends, a device that is not live is no fault.
        bool running = health.State is not ("starting" or "finished");
        var down = running ? health.Devices.Where(d => !d.Live).Select(d => d.Name == "microphone" ? "mic" : d.Name).ToList() : [];
        bool fallback = running && health.State != "paused" && health.TaskReason is not null;
        bool faulted = health.State == "faulted";
        var leds = new LedStates(
            Listening: health.Listening && !stopping,
            Thinking: inFlightAge < PartialsFlowing || health.Queues.Any(q => q.Depth > 0),
            Error: down.Count > 0 || fallback || faulted || recentFault);

        string? line = stopping ? "stopping"
            : faulted ? "captioning fault"
            : down.Count > 0 || fallback ? Degraded(health.Task, down)
            : recentFault ? "fault: restarted"
            : lastFinal is null ? Idle(health, buttonMode)
            : null;
        return new PanelState(leds, line, lastFinal ?? "");
    }

    private static string Degraded(string? task, List<string> down)
    {
        string missing = down.Count == 0 ? "" : "no " + string.Join(" or ", down);
        return (task, missing) switch
        {
            (null, "") => "waiting",
            (null, _) => missing,
            (_, "") => $"{task.ToUpperInvariant()} fallback",
            _ => $"{task.ToUpperInvariant()}: {missing}",
        };
    }

    private static string Idle(ProducerHealth health, ButtonMode? buttonMode) => health.State switch
    {
        "paused" => buttonMode == ButtonMode.Toggle ? "press to talk" : "hold to talk",
        "listening" => health.Task is { } t ? $"{t.ToUpperInvariant()} listening" : "listening",
        _ => health.State,
    };
}
