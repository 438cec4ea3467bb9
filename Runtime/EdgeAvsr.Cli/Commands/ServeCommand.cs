using System.CommandLine;
using EdgeAvsr.Device.Config;
using EdgeAvsr.Device.Gpio;
using EdgeAvsr.Runtime;
using EdgeAvsr.Serve;

namespace EdgeAvsr.Cli.Commands;

/// <summary>
/// <c>edgeavsr serve</c>: the headless daemon (HTTP captions, journal, kiosk page, systemd). Settings come from
/// <c>--config FILE</c> (JSON, snake_case keys) and each flag given overrides its key; the token is read only from the
/// file, so it never shows in a process list.
/// </summary>
internal static class ServeCommand
{
    public const string Name = "serve";

    public static Command Create()
    {
        var config = new Option<string?>("--config") { Description = "JSON settings file (docs/serve.md); flags override its keys" };
        var host = new Option<string?>("--host") { Description = "Address to listen on (default 127.0.0.1; beyond loopback needs \"token\" in the config)" };
        var port = new Option<int?>("--port") { Description = "TCP port (default 8080; 0 picks a free one)" };
        var journal = new Option<string?>("--journal") { Description = "Caption journal file, JSON lines (default edgeavsr-captions.jsonl)" };
        var producer = new Option<string?>("--producer") { Description = "replay | live: where captions come from (default replay)" };
        producer.AcceptOnlyFromAmong("replay", "live");
        var replay = new Option<string?>("--replay") { Description = "Captions file or FIFO for the replay producer (JSON lines)" };
        var model = new Option<string?>("--model") { Description = "Model pack folder (live producer)" };
        var devices = new Option<string?>("--devices")
        {
            Description = "Device settings file: camera, microphone (live producer), gpio, lcd (docs/devices.md)",
        };
        var task = new Option<string?>("--task") { Description = "auto | asr | vsr | avsr: preferred task (live producer)" };
        task.AcceptOnlyFromAmong("auto", "asr", "vsr", "avsr");
        var maxClients = new Option<int?>("--max-clients") { Description = "Most concurrent /captions clients (default 32); more get 503" };
        var maxRequest = new Option<long?>("--max-request-bytes") { Description = "Largest request body (default 16384); larger get 413" };
        var keepAlive = new Option<double?>("--keep-alive-seconds") { Description = "Seconds between SSE keep-alive comments (default 15)" };
        var history = new Option<int?>("--history-limit") { Description = "Most finals in /captions/history and a new stream's backlog (default 500)" };
        var maxAge = new Option<double?>("--retention-max-age-hours") { Description = "Drop journaled finals older than this (default 0: keep)" };
        var maxLines = new Option<int?>("--retention-max-lines") { Description = "Keep at most this many journaled finals (default 100000)" };
        var drain = new Option<double?>("--drain-seconds") { Description = "Longest wait on stop for the utterance in flight (default 20)" };
        var command = new Command(Name, "Run the caption daemon: live captions over HTTP (SSE), a kiosk page, history, SRT/VTT, health");
        Option[] options = [config, host, port, journal, producer, replay, model, devices, task, maxClients, maxRequest, keepAlive, history, maxAge,
            maxLines, drain];
        foreach (var o in options)
        {
            command.Options.Add(o);
        }
        CommandActions.SetAsync(command, async (parse, cancellation) =>
        {
            var file = parse.GetValue(config) is { } path ? ServeOptions.Read(path) : new ServeOptions();
            var settings = file with
            {
                Host = parse.GetValue(host) ?? file.Host,
                Port = parse.GetValue(port) ?? file.Port,
                Journal = parse.GetValue(journal) ?? file.Journal,
                Producer = parse.GetValue(producer) ?? file.Producer,
                Replay = parse.GetValue(replay) ?? file.Replay,
                Model = parse.GetValue(model) ?? file.Model,
                Task = parse.GetValue(task) ?? file.Task,
                Devices = parse.GetValue(devices) ?? file.Devices,
                MaxClients = parse.GetValue(maxClients) ?? file.MaxClients,
                MaxRequestBytes = parse.GetValue(maxRequest) ?? file.MaxRequestBytes,
                KeepAliveSeconds = parse.GetValue(keepAlive) ?? file.KeepAliveSeconds,
                HistoryLimit = parse.GetValue(history) ?? file.HistoryLimit,
                RetentionMaxAgeHours = parse.GetValue(maxAge) ?? file.RetentionMaxAgeHours,
                RetentionMaxLines = parse.GetValue(maxLines) ?? file.RetentionMaxLines,
                DrainSeconds = parse.GetValue(drain) ?? file.DrainSeconds,
            };
            settings.Validate();
            var boxDevices = settings.Devices is { } devicesPath ? DeviceConfigJson.Read(devicesPath) : null;
            // The button, LEDs and LCD serve either producer; parts that cannot be opened are reported, never fatal.
            using var panel = boxDevices is { Gpio: not null } or { Lcd: not null } ? GpioPanel.Open(boxDevices) : null;
            ICaptionProducer captions = settings.Producer == "live"
                ? LiveCaptionProducer.Open(settings.Model!, boxDevices!,
                    settings.Task is null or "auto" ? null : EnumText<AvsrTask>.Parse(settings.Task, "task"), panel?.Talk)
                : ServeDaemon.ReplayProducer(settings);
            using var owned = captions as IDisposable;
            // The host handles SIGTERM/SIGINT itself (a drain, then exit 0): Program leaves those signals to it for this verb.
            await ServeDaemon.RunAsync(settings, captions, panel, cancellation).ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }
}
