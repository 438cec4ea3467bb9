using System.Globalization;
using System.Net;
using EdgeAvsr.Device.Gpio;
using EdgeAvsr.Runtime;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace EdgeAvsr.Serve;

/// <summary>
/// The daemon: Kestrel (slim builder) on <see cref="ServeOptions.Host"/>:<see cref="ServeOptions.Port"/>, the caption
/// service over <see cref="ICaptionProducer"/>, the journal, and systemd notifications. Logs go to stderr (the journal
/// under systemd). SIGTERM or Ctrl+C drains and then <see cref="RunAsync"/> returns.
/// </summary>
public static class ServeDaemon
{
    /// <summary>Builds the daemon; bad options are an <see cref="EdgeAvsrException"/> before anything listens or is written.</summary>
    /// <param name="options">The settings.</param>
    /// <param name="producer">Where captions come from.</param>
    /// <param name="panel">The box's button, LEDs and LCD (the devices file's gpio and lcd sections), driven from the daemon's
    /// state and shown in /health; null: none. The caller owns it.</param>
    public static WebApplication Build(ServeOptions options, ICaptionProducer producer, GpioPanel? panel = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(producer);
        options.Validate();
        var address = options.Address;
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ApplicationName = "edgeavsr" });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        if (Environment.GetEnvironmentVariable("JOURNAL_STREAM") is { Length: > 0 })
        {
            builder.Logging.AddSystemdConsole(o => o.IncludeScopes = false);
        }
        else
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
                o.UseUtcTimestamp = true;
            });
        }
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(options.DrainSeconds + 5));
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(address, options.Port);
            k.Limits.MaxRequestBodySize = options.MaxRequestBytes;
            k.Limits.MaxRequestHeadersTotalSize = 16 * 1024;
            k.Limits.MaxRequestLineSize = 8 * 1024;
        });
        string run = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        var journal = CaptionJournal.Open(options.Journal,
            new JournalRetention(options.RetentionMaxAgeHours > 0 ? TimeSpan.FromHours(options.RetentionMaxAgeHours) : null, options.RetentionMaxLines),
            line => Console.Error.WriteLine($"edgeavsr serve: {line}"));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(producer);
        builder.Services.AddSingleton(journal);
        builder.Services.AddSingleton(new CaptionHub(journal, run));
        builder.Services.AddSingleton<ISystemdNotifier, SystemdNotifier>();
        builder.Services.AddSingleton<CaptionService>();
        builder.Services.AddHostedService(s => s.GetRequiredService<CaptionService>());
        builder.Services.AddHostedService<SystemdNotifications>();
        if (panel is not null)
        {
            builder.Services.AddSingleton(panel);
            builder.Services.AddHostedService<GpioPanelService>();
        }
        builder.Services.AddSingleton<ServeEndpoints>();
        var app = builder.Build();
        app.Services.GetRequiredService<ServeEndpoints>().Map(app);
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            Console.Error.WriteLine(
                $"edgeavsr serve: listening on {string.Join(", ", addresses)} (run {run}, journal {journal.Path}, last id {journal.LastId})");
        });
        return app;
    }

    /// <summary>Runs until SIGTERM/SIGINT (or <paramref name="stop"/>), drains, and returns.</summary>
    public static async Task RunAsync(ServeOptions options, ICaptionProducer producer, GpioPanel? panel = null, CancellationToken stop = default)
    {
        var app = Build(options, producer, panel);
        await using (app.ConfigureAwait(false))
        {
            try
            {
                await app.RunAsync(stop).ConfigureAwait(false);
            }
            catch (IOException e) when (e.InnerException is System.Net.Sockets.SocketException)
            {
                throw new EdgeAvsrException($"cannot listen on {options.Host}:{options.Port}: {e.Message}", e);
            }
        }
    }

    /// <summary>The caption producer <paramref name="options"/> asks for (the replay one; the live one is built by the front end).</summary>
    public static ICaptionProducer ReplayProducer(ServeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!File.Exists(options.Replay))
        {
            throw new EdgeAvsrException("replay", n => $"{n} {options.Replay}: no such captions file or FIFO");
        }
        return new ReplayCaptionProducer(options.Replay!, line => Console.Error.WriteLine($"edgeavsr serve: {line}"));
    }

    internal static IPEndPoint EndPoint(ServeOptions options) => new(options.Address, options.Port);
}
