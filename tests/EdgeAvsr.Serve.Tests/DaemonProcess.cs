using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace EdgeAvsr.Serve.Tests;

/// <summary>
/// The real daemon as a child process (<c>dotnet edgeavsr.dll serve</c>, the build under test), with its stderr kept,
/// stopped by SIGTERM or SIGKILL as systemd or a crash would. Tests connect through 127.0.0.1 only.
/// </summary>
internal sealed partial class DaemonProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _stderr = new();
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private DaemonProcess(Process process, int port)
    {
        _process = process;
        Port = port;
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }
            _stderr.Enqueue(e.Data);
            if (e.Data.Contains("listening on", StringComparison.Ordinal))
            {
                _listening.TrySetResult();
            }
        };
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                _stderr.Enqueue(e.Data);
            }
        };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
    }

    public int Port { get; }

    public int Pid => _process.Id;

    public Uri BaseUri => new($"http://127.0.0.1:{Port}/");

    public string Log => string.Join('\n', _stderr);

    public bool HasExited => _process.HasExited;

    /// <summary>The built CLI under test (same configuration as these tests).</summary>
    public static string CliPath
    {
        get
        {
            string config = AppContext.BaseDirectory.Contains("/bin/Debug/", StringComparison.Ordinal) ? "Debug" : "Release";
            string path = Path.Combine(Tools.RepoRoot, "Runtime", "EdgeAvsr.Cli", "bin", config, "net10.0", "edgeavsr.dll");
            return File.Exists(path) ? path : throw new InvalidOperationException($"{path} is not built");
        }
    }

    /// <summary>A port that was free a moment ago.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts <c>serve ARGS --port PORT</c>; <paramref name="environment"/> adds variables (NOTIFY_SOCKET, ...).</summary>
    public static DaemonProcess Start(int port, IReadOnlyList<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(CliPath);
        psi.ArgumentList.Add("serve");
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.ArgumentList.Add("--port");
        psi.ArgumentList.Add(port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment.Remove("NOTIFY_SOCKET");
        psi.Environment.Remove("WATCHDOG_USEC");
        psi.Environment.Remove("JOURNAL_STREAM");
        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }
        return new DaemonProcess(Tools.Start(psi), port);
    }

    /// <summary>Waits for the "listening on" line; a daemon that exits first fails the test with its log.</summary>
    public async Task WaitListeningAsync(TimeSpan? timeout = null)
    {
        var limit = Task.Delay(timeout ?? TimeSpan.FromSeconds(60));
        var exited = _process.WaitForExitAsync();
        var first = await Task.WhenAny(_listening.Task, exited, limit);
        if (first != _listening.Task)
        {
            throw new InvalidOperationException($"daemon did not start listening ({(first == exited ? "exited " + _process.ExitCode : "timed out")}):\n{Log}");
        }
    }

    /// <summary>SIGTERM (what systemctl stop sends); returns the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan? timeout = null)
    {
        Signal(15);
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(40));
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: a crash, no drain, no flush.</summary>
    public void KillHard()
    {
        Signal(9);
        _process.WaitForExit(20_000);
    }

    public async Task<int> WaitExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public HttpClient Client(string? bearer = null)
    {
        var client = new HttpClient { BaseAddress = BaseUri, Timeout = TimeSpan.FromSeconds(30) };
        if (bearer is not null)
        {
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bearer);
        }
        return client;
    }

    public async Task<JsonDocument> GetJsonAsync(string path, string? bearer = null)
    {
        using var client = Client(bearer);
        string body = await client.GetStringAsync(new Uri(path, UriKind.Relative));
        return JsonDocument.Parse(body);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            Signal(9);
            _process.WaitForExit(20_000);
        }
        _process.Dispose();
    }

    private void Signal(int signal)
    {
        if (!_process.HasExited && Kill(_process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
