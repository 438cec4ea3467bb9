using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;

namespace EdgeAvsr.Runtime.Formats;

/// <summary>A running ffmpeg whose stdout is read piece by piece; disposing stops it.</summary>
public sealed class FfmpegPipe : IDisposable
{
    private readonly Process _process;
    private readonly Task<string> _stderr;
    private readonly Stream _stdout;
    private readonly string _tool;
    private readonly string _mediaPath;

    internal FfmpegPipe(Process process, string tool, string mediaPath)
    {
        _process = process;
        _tool = tool;
        _mediaPath = mediaPath;
        _stderr = process.StandardError.ReadToEndAsync();
        _stdout = process.StandardOutput.BaseStream;
    }

    /// <summary>Fills <paramref name="buffer"/> unless the output ends first; returns the bytes read (0: the end).</summary>
    public int Read(Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = _stdout.Read(buffer[total..]);
            if (n == 0)
            {
                break;
            }
            total += n;
        }
        return total;
    }

    /// <summary>After the last <see cref="Read"/>: waits for the exit and throws ffmpeg's message if it failed.</summary>
    public void Complete()
    {
        _process.WaitForExit();
        if (_process.ExitCode != 0)
        {
            string message = Ffmpeg.LastLines(_stderr.Result);
            throw new EdgeAvsrException($"{_mediaPath}: {_tool} cannot decode it: {(message.Length > 0 ? message : $"exit code {_process.ExitCode}")}");
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        _process.Dispose();
    }
}
