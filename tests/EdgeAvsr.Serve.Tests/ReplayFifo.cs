using System.Text;
using System.Text.Json;

namespace EdgeAvsr.Serve.Tests;

/// <summary>A FIFO the test writes replay lines into while the daemon reads it (the replay producer's live mode).</summary>
internal sealed class ReplayFifo : IDisposable
{
    private FileStream? _writer;

    public ReplayFifo(string path)
    {
        Path = path;
        Tools.Run("mkfifo", path);
    }

    public string Path { get; }

    /// <summary>One caption line, published at once (its stream time, 0, has passed).</summary>
    public static string Caption(int utterance, bool final, string text, string task = "avsr", double start = 0, double end = 0) =>
        JsonSerializer.Serialize(new { utterance, final, text, task, start, end, at = 0.0 });

    /// <summary>Writes lines (opening the FIFO once a reader has it open) and returns the wall time written, in Unix ms.</summary>
    public async Task<long> WriteAsync(params string[] lines)
    {
        if (_writer is null)
        {
            // Opening a FIFO for writing waits for the reader: the daemon's replay thread.
            var open = Task.Run(() => new FileStream(Path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1));
            _writer = await open.WaitAsync(TimeSpan.FromSeconds(60));
        }
        byte[] bytes = Encoding.UTF8.GetBytes(string.Concat(lines.Select(l => l + "\n")));
        long at = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        _writer.Write(bytes);
        _writer.Flush();
        return at;
    }

    /// <summary>Drops the writer (after the daemon died the pipe is broken; the next write opens it again).</summary>
    public void Reopen()
    {
        try
        {
            _writer?.Dispose();
        }
        catch (IOException)
        {
        }
        _writer = null;
    }

    public void Dispose() => Reopen();
}
