using System.Globalization;
using EdgeAvsr.Device.Config;
using EdgeAvsr.Runtime.Pipeline;
using EdgeAvsr.Runtime.Video;

namespace EdgeAvsr.Device.Sources;

/// <summary>
/// The processes that read the devices: ffmpeg for V4L2 cameras, ALSA microphones and any ffmpeg input (stdout: 96x96 gray
/// crops at 25 fps, or 16 kHz mono float32), and <c>/bin/sh -c</c> for a camera command (stdout: raw frames of the configured
/// size, cut and scaled here).
/// </summary>
public static class CaptureCommands
{
    private static readonly string[] Quiet = ["-hide_banner", "-loglevel", "error", "-nostdin"];

    /// <summary>The camera's process.</summary>
    public static DeviceCommand Camera(CameraConfig camera)
    {
        ArgumentNullException.ThrowIfNull(camera);
        if (camera.Kind == CameraKind.Command)
        {
            return new DeviceCommand("/bin/sh", ["-c", camera.Input]);
        }
        var args = new List<string>(Quiet);
        if (camera.Kind == CameraKind.V4l2)
        {
            args.AddRange(["-f", "v4l2"]);
            args.AddRange(["-framerate", Inv(camera.FrameRate)]);
            if (camera.Width is { } w && camera.Height is { } h)
            {
                args.AddRange(["-video_size", Inv($"{w}x{h}")]);
            }
        }
        args.AddRange(camera.InputOptions);
        string filter = $"fps={StreamClock.FrameRate}";
        if (camera.Region is { } r)
        {
            filter += Inv($",crop={r.Width}:{r.Height}:{r.X}:{r.Y}");
        }
        filter += Inv($",scale={MouthRoi.CropSize}:{MouthRoi.CropSize}:flags=bilinear,format=gray");
        args.AddRange(["-i", camera.Input, "-map", "0:v:0", "-an", "-vf", filter, "-f", "rawvideo", "-pix_fmt", "gray", "-flush_packets", "1", "pipe:1"]);
        return new DeviceCommand("ffmpeg", args);
    }

    /// <summary>The microphone's process.</summary>
    public static DeviceCommand Microphone(MicrophoneConfig microphone)
    {
        ArgumentNullException.ThrowIfNull(microphone);
        var args = new List<string>(Quiet);
        if (microphone.Kind == MicrophoneKind.Alsa)
        {
            args.AddRange(["-f", "alsa"]);
            if (microphone.Channels is { } c)
            {
                args.AddRange(["-channels", Inv(c)]);
            }
            if (microphone.SampleRate is { } sr)
            {
                args.AddRange(["-sample_rate", Inv(sr)]);
            }
        }
        args.AddRange(microphone.InputOptions);
        args.AddRange(["-i", microphone.Input, "-map", "0:a:0", "-vn", "-ac", "1", "-ar", Inv(StreamClock.SampleRate), "-f", "f32le", "-acodec",
            "pcm_f32le", "-flush_packets", "1", "pipe:1"]);
        return new DeviceCommand("ffmpeg", args);
    }

    /// <summary>The bytes of one frame on the camera process's stdout.</summary>
    public static int FrameBytes(CameraConfig camera)
    {
        ArgumentNullException.ThrowIfNull(camera);
        if (camera.Kind != CameraKind.Command)
        {
            return MouthRoi.CropSize * MouthRoi.CropSize;
        }
        int luma = camera.Width!.Value * camera.Height!.Value;
        return camera.PixelFormat == RawPixelFormat.Yuv420 ? luma * 3 / 2 : luma;
    }

    /// <summary>One frame of the camera process's stdout as a 96x96 gray crop.</summary>
    public static byte[] ToCrop(CameraConfig camera, ReadOnlySpan<byte> frame)
    {
        ArgumentNullException.ThrowIfNull(camera);
        if (camera.Kind != CameraKind.Command)
        {
            return frame.ToArray();
        }
        int width = camera.Width!.Value, height = camera.Height!.Value;
        // Both I420 and NV12 start with the full-resolution luma plane, which is the gray image.
        var region = camera.Region ?? new CropRegion(0, 0, width, height);
        return GrayScaler.Crop(frame[..(width * height)], width, region, MouthRoi.CropSize);
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static string Inv(double v) => v.ToString(CultureInfo.InvariantCulture);

    private static string Inv(int v) => v.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Cuts a rectangle out of a gray image and scales it to a square, bilinear with pixel centres aligned (as ffmpeg's scale).</summary>
internal static class GrayScaler
{
    public static byte[] Crop(ReadOnlySpan<byte> image, int stride, CropRegion region, int size)
    {
        var result = new byte[size * size];
        double sx = (double)region.Width / size, sy = (double)region.Height / size;
        for (int y = 0; y < size; y++)
        {
            double fy = Math.Clamp((y + 0.5) * sy - 0.5, 0, region.Height - 1);
            int y0 = (int)fy, y1 = Math.Min(y0 + 1, region.Height - 1);
            double wy = fy - y0;
            for (int x = 0; x < size; x++)
            {
                double fx = Math.Clamp((x + 0.5) * sx - 0.5, 0, region.Width - 1);
                int x0 = (int)fx, x1 = Math.Min(x0 + 1, region.Width - 1);
                double wx = fx - x0;
                double top = Pixel(image, stride, region, x0, y0) * (1 - wx) + Pixel(image, stride, region, x1, y0) * wx;
                double bottom = Pixel(image, stride, region, x0, y1) * (1 - wx) + Pixel(image, stride, region, x1, y1) * wx;
                result[y * size + x] = (byte)Math.Clamp(Math.Round(top * (1 - wy) + bottom * wy), 0, 255);
            }
        }
        return result;
    }

    private static byte Pixel(ReadOnlySpan<byte> image, int stride, CropRegion region, int x, int y) => image[(region.Y + y) * stride + region.X + x];
}
