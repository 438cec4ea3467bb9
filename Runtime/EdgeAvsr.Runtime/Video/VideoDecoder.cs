using System.Globalization;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Runtime.Video;

/// <summary>
/// Decodes the first video stream of any file ffmpeg reads to 25 fps 8-bit grayscale:
/// <c>ffmpeg -i FILE -map 0:v:0 -vf fps=25[,scale=W:H],format=gray -f rawvideo -pix_fmt gray pipe:1</c>.
/// The frame size comes from ffprobe first (display rotation is not applied: frames are taken as stored).
/// The fps filter picks, for output frame n, the source frame nearest to time n / 25 s.
/// </summary>
public static class VideoDecoder
{
    public const int FrameRate = 25;

    /// <summary>The stored width and height of the first video stream.</summary>
    public static (int Width, int Height) Probe(string path)
    {
        if (!File.Exists(path))
        {
            throw new EdgeAvsrException($"{path}: video file not found");
        }
        return Ffmpeg.Inspect(path).VideoSize();
    }

    /// <summary>All frames at 25 fps, grayscale, resized to <paramref name="resize"/> (bilinear) when given.</summary>
    public static GrayFrames Decode(string path, (int Width, int Height)? resize = null) => Decode(path, Probe(path), resize);

    /// <summary>All frames, as the overload above, for a caller that probed the stored size already.</summary>
    public static GrayFrames Decode(string path, (int Width, int Height) stored, (int Width, int Height)? resize = null)
    {
        var (width, height) = stored;
        byte[] raw = Ffmpeg.Run("ffmpeg", path, Arguments(path, width, height, resize));
        if (resize is { } r)
        {
            (width, height) = r;
        }
        int frameBytes = width * height;
        if (raw.Length % frameBytes != 0)
        {
            throw new EdgeAvsrException($"{path}: ffmpeg returned {raw.Length} bytes, not whole {width}x{height} frames");
        }
        int count = raw.Length / frameBytes;
        if (count == 0)
        {
            throw new EdgeAvsrException($"{path}: the video has no frames");
        }
        return new GrayFrames(raw, count, width, height);
    }

    /// <summary>The ffmpeg arguments that decode a <paramref name="width"/>x<paramref name="height"/> clip to 25 fps gray frames (resized when
    /// asked).</summary>
    public static string[] Arguments(string path, int width, int height, (int Width, int Height)? resize = null)
    {
        string filter = $"fps={FrameRate}";
        if (resize is { } r && (r.Width != width || r.Height != height))
        {
            filter += string.Create(CultureInfo.InvariantCulture, $",scale={r.Width}:{r.Height}:flags=bilinear");
        }
        filter += ",format=gray";
        return ["-v", "error", "-nostdin", "-noautorotate", "-i", path, "-map", "0:v:0", "-an", "-vf", filter, "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"];
    }
}
