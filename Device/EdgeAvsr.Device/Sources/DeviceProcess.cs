using System.ComponentModel;
using System.Diagnostics;

namespace EdgeAvsr.Device.Sources;

/// <summary>A program to run for a device: its stdout carries the raw stream.</summary>
/// <param name="Program">The executable (looked up on PATH).</param>
/// <param name="Arguments">Its arguments, each passed as is (no shell).</param>
public sealed record DeviceCommand(string Program, IReadOnlyList<string> Arguments)
{
    public override string ToString() => string.Join(' ', Arguments.Prepend(Program).Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"'{a}'" : a));
}

/// <summary>A running device process as a source reads it.</summary>
public interface IDeviceProcess : IDisposable
{
    /// <summary>Reads what the process wrote to stdout; 0 at its end.</summary>
    ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellation);

    /// <summary>The last lines it wrote to stderr (empty if none), for the status's last error.</summary>
    string ErrorTail { get; }

    /// <summary>Stops it (its stdout then ends).</summary>
    void Kill();
}

/// <summary>Starts device processes; tests give a fake one.</summary>
public interface IDeviceProcessFactory
{
    /// <summary>Starts <paramref name="command"/>; a program that cannot start throws <see cref="Runtime.EdgeAvsrException"/>.</summary>
    IDeviceProcess Start(DeviceCommand command);
}

/// <summary>Real processes (System.Diagnostics.Process), stdin closed, stdout and stderr piped.</summary>
public sealed class OsProcessFactory : IDeviceProcessFactory
{
    public static OsProcessFactory Instance { get; } = new();

    public IDeviceProcess Start(DeviceCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        var psi = new ProcessStartInfo(command.Program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string a in command.Arguments)
        {
            psi.ArgumentList.Add(a);
        }
        try
        {
            var process = Process.Start(psi) ?? throw new Runtime.EdgeAvsrException($"{command.Program}: could not be started");
            process.StandardInput.Close();
            return new OsDeviceProcess(process);
        }
        catch (Win32Exception e)
        {
            throw new Runtime.EdgeAvsrException($"{command.Program}: cannot start it ({e.Message}); is it installed and on PATH?");
        }
    }

    private sealed class OsDeviceProcess : IDeviceProcess
    {
        private const int TailLines = 3;
        private readonly Process _process;
        private readonly Stream _stdout;
        private readonly Queue<string> _tail = new();
        private readonly Lock _gate = new();

        public OsDeviceProcess(Process process)
        {
            _process = process;
            _stdout = process.StandardOutput.BaseStream;
            _process.ErrorDataReceived += (_, e) =>
            {
                if (!string.IsNullOrWhiteSpace(e.Data))
                {
                    lock (_gate)
                    {
                        _tail.Enqueue(e.Data.Trim());
                        while (_tail.Count > TailLines)
                        {
                            _tail.Dequeue();
                        }
                    }
                }
            };
            _process.BeginErrorReadLine();
        }

        public string ErrorTail
        {
            get
            {
                lock (_gate)
                {
                    return string.Join(" | ", _tail);
                }
            }
        }

        public ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellation) => _stdout.ReadAsync(buffer, cancellation);

        public void Kill()
        {
            try
            {
                if (!_process.HasExited)
                {
                    _process.Kill(entireProcessTree: true);
                }
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
        }

        public void Dispose()
        {
            Kill();
            _process.Dispose();
        }
    }
}
