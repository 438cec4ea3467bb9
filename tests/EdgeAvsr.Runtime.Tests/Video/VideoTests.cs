using System.Globalization;
using EdgeAvsr.Cli;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Tests.Cli;
using EdgeAvsr.Runtime.Video;

namespace EdgeAvsr.Runtime.Tests.Video;

/// <summary>Mouth ROI from videos made by ffmpeg out of known frames.</summary>
[Collection("console")]
public class VideoTests
{
    private static void WritePgm(string path, int width, int height, Func<int, int, byte> pixel)
    {
        var header = System.Text.Encoding.ASCII.GetBytes($"P5 {width} {height} 255\n");
        var data = new byte[header.Length + width * height];
        header.CopyTo(data, 0);
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                data[header.Length + y * width + x] = pixel(x, y);
            }
        }
        File.WriteAllBytes(path, data);
    }

    /// <summary>Frames from <paramref name="pixel"/>(t, x, y) encoded at <paramref name="fps"/> with the given codec arguments.</summary>
    internal static string MakeVideo(TempDir dir, string name, int frames, int width, int height, int fps, Func<int, int, int, byte> pixel,
        params string[] codec)
    {
        string framesDir = dir.File(name + "-frames");
        Directory.CreateDirectory(framesDir);
        for (int t = 0; t < frames; t++)
        {
            int tt = t;
            WritePgm(Path.Combine(framesDir, $"f{t:D3}.pgm"), width, height, (x, y) => pixel(tt, x, y));
        }
        string output = dir.File(name);
        Tools.Run("ffmpeg", ["-v", "error", "-framerate", fps.ToString(CultureInfo.InvariantCulture), "-i", Path.Combine(framesDir, "f%03d.pgm"),
            .. codec, output]);
        return output;
    }

    private static byte Pattern(int t, int x, int y) => (byte)((x * 2 + y * 3 + t * 20) % 256);

    private static float Normalised(int value) => (value / 255f - 0.421f) / 0.165f;

    // The ROI as `edgeavsr frames` writes it, from the library's function for it.
    private static (int Frames, VideoInputKind Kind) WriteRoi(string video, string path)
    {
        var (roi, crops) = MouthCropReader.ReadRoi(video);
        NpyFile.Write(path, roi, crops.Crops.Count, MouthRoi.RoiSize, MouthRoi.RoiSize);
        return (crops.Crops.Count, crops.Kind);
    }

    [Theory]
    [InlineData("ffv1.mkv", 0.0, "-c:v", "ffv1", "-pix_fmt", "gray")]
    [InlineData("x264.mp4", 1.0, "-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv444p")]
    public void LosslessCrops_RightSizeOrderAndValues(string name, double levels, params string[] codec)
    {
        using var dir = new TempDir();
        string video = MakeVideo(dir, name, 10, 96, 96, 25, Pattern, codec);
        var result = WriteRoi(video, dir.File("roi.npy"));
        Assert.Equal(VideoInputKind.Crops, result.Kind);
        var roi = NpyFile.ReadFloat32(dir.File("roi.npy"));
        Assert.Equal(new long[] { 10, 88, 88 }, roi.Shape);
        // x264's gray -> yuv444p -> gray round trip may move a level by one (range conversion); ffv1 gray is exact.
        double tolerance = levels / 255 / 0.165 + 1e-5;
        double worst = 0;
        for (int t = 0; t < 10; t++)
        {
            for (int y = 0; y < 88; y++)
            {
                for (int x = 0; x < 88; x++)
                {
                    worst = Math.Max(worst, Math.Abs(roi.Data[(t * 88 + y) * 88 + x] - Normalised(Pattern(t, x + 4, y + 4))));
                }
            }
        }
        Assert.True(worst <= tolerance, $"max difference {worst} (tolerance {tolerance})");
    }

    [Fact]
    public void ThirtyFps_BecomesTwentyFive_PickingTheNearestSourceFrames()
    {
        using var dir = new TempDir();
        string video = MakeVideo(dir, "30fps.mkv", 30, 96, 96, 30, (t, _, _) => (byte)(8 * t), "-c:v", "ffv1", "-pix_fmt", "gray");
        var frames = VideoDecoder.Decode(video);
        Assert.Equal(25, frames.Count);
        for (int n = 0; n < 25; n++)
        {
            // ffmpeg's fps filter: output n at n / 25 s shows the source frame nearest that time, round(n * 30 / 25).
            int expected = (int)Math.Round(n * 30.0 / 25, MidpointRounding.AwayFromZero);
            Assert.Equal(8 * expected, frames.Frame(n)[0]);
        }
        var result = WriteRoi(video, dir.File("roi.npy"));
        Assert.Equal(25, result.Frames);
        Assert.Equal(Normalised(8 * 4), NpyFile.ReadFloat32(dir.File("roi.npy")).Data[3 * 88 * 88 + 100], 5);
    }

    [Fact]
    public void SmallerCrops_AreResizedTo96()
    {
        using var dir = new TempDir();
        string video = MakeVideo(dir, "64.mkv", 5, 64, 64, 25, (t, _, _) => (byte)(40 + 30 * t), "-c:v", "ffv1", "-pix_fmt", "gray");
        var (code, stdout, stderr) = FrontendCliTests.Invoke("frames", "--video", video, "--out", dir.File("roi.npy"));
        Assert.True(code == 0, stderr);
        Assert.Contains("resized to 96x96", stdout, StringComparison.Ordinal);
        var roi = NpyFile.ReadFloat32(dir.File("roi.npy"));
        Assert.Equal(new long[] { 5, 88, 88 }, roi.Shape);
        for (int t = 0; t < 5; t++)
        {
            Assert.Equal(Normalised(40 + 30 * t), roi.Data[t * 88 * 88 + 44 * 88 + 44], 4);
        }
    }

    [Fact]
    public void FullFrames_RefusedWithoutLandmarks_BadModelsRefused_CropsOverride()
    {
        using var dir = new TempDir();
        string video = MakeVideo(dir, "face.mkv", 3, 320, 240, 25, Pattern, "-c:v", "ffv1", "-pix_fmt", "gray");
        var (code, _, stderr) = FrontendCliTests.Invoke("frames", "--video", video, "--out", dir.File("roi.npy"));
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains("320x240 frames look like full-face video, which needs a face-landmark model (--landmarks", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.TrimEnd().Split('\n'));

        File.WriteAllBytes(dir.File("lm.onnx"), [1, 2, 3]);
        (code, _, stderr) = FrontendCliTests.Invoke("frames", "--video", video, "--landmarks", dir.File("lm.onnx"), "--out", dir.File("roi.npy"));
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains("ONNX Runtime cannot load this model", stderr, StringComparison.Ordinal);
        (code, _, stderr) = FrontendCliTests.Invoke("frames", "--video", video, "--landmarks", dir.File("missing.onnx"), "--out", dir.File("roi.npy"));
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains("landmark model not found", stderr, StringComparison.Ordinal);
        // A model with the wrong input contract (an identity over [1, 3, H, W]).
        Python.Run($"import torch; torch.onnx.export(torch.nn.Identity(), (torch.zeros(1, 3, 8, 8),), '{dir.File("wrong.onnx")}', " +
            "input_names=['pixels'], output_names=['landmarks'], opset_version=17)");
        (code, _, stderr) = FrontendCliTests.Invoke("frames", "--video", video, "--landmarks", dir.File("wrong.onnx"), "--out", dir.File("roi.npy"));
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains("a landmark model takes one input 'image' float32 [1, 1, H, W]; this model takes 'pixels'", stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("roi.npy")));

        (code, _, stderr) = FrontendCliTests.Invoke("frames", "--video", video, "--input-kind", "crops", "--out", dir.File("roi.npy"));
        Assert.True(code == 0, stderr);
        Assert.Equal(new long[] { 3, 88, 88 }, NpyFile.ReadFloat32(dir.File("roi.npy")).Shape);
    }

    /// <summary>
    /// Full-face path end to end through ONNX Runtime: a synthetic landmark model (Models/reference/landmark_test_model.py)
    /// puts a face template, 1.25x the canonical size, on the brightest spot; the video draws a moving bright disk (the
    /// "mouth") and leaves it out of frame 7 (no face: interpolated). Every ROI must show the disk centred at the
    /// canonical size (radius 10 / 1.25 = 8 px).
    /// </summary>
    [Fact]
    public void FullFrames_WithLandmarkModel_CropsCentredOnTheMouth()
    {
        using var dir = new TempDir();
        Python.Script("Models/reference/landmark_test_model.py", dir.File("lm.onnx"), "--scale", "1.25");
        static (double X, double Y) Centre(int t) => (100 + 4 * t, 110 + 1.5 * t);
        string video = MakeVideo(dir, "face.mkv", 16, 320, 240, 25, (t, x, y) =>
        {
            var (cx, cy) = Centre(t);
            return t != 7 && (x - cx) * (x - cx) + (y - cy) * (y - cy) <= 100 ? (byte)240 : (byte)20;
        }, "-c:v", "ffv1", "-pix_fmt", "gray");
        var (code, stdout, stderr) = FrontendCliTests.Invoke("frames", "--video", video, "--landmarks", dir.File("lm.onnx"), "--out", dir.File("roi.npy"));
        Assert.True(code == 0, stderr);
        Assert.Contains("face found in 15 of 16 frames", stdout, StringComparison.Ordinal);
        var roi = NpyFile.ReadFloat32(dir.File("roi.npy"));
        Assert.Equal(new long[] { 16, 88, 88 }, roi.Shape);
        float background = Normalised(20);
        for (int t = 0; t < 16; t++)
        {
            double sx = 0, sy = 0, area = 0;
            for (int y = 0; y < 88; y++)
            {
                for (int x = 0; x < 88; x++)
                {
                    double w = (roi.Data[(t * 88 + y) * 88 + x] - background) / (Normalised(240) - background);
                    sx += w * x;
                    sy += w * y;
                    area += w;
                }
            }
            if (t == 7)
            {
                Assert.True(area < 1, $"frame 7 has no disk, area {area}");
                continue;
            }
            // Crop centre is (48, 48) in the 96 crop, (44, 44) in the 88 ROI; the patch corner is rounded to a pixel.
            Assert.InRange(sx / area, 42.5, 45.5);
            Assert.InRange(sy / area, 42.5, 45.5);
            Assert.InRange(area, Math.PI * 64 * 0.85, Math.PI * 64 * 1.15);
        }
    }

    [Theory]
    [InlineData("garbage", "cannot decode it")]
    [InlineData("audio-only", "no video stream")]
    [InlineData("missing", "video file not found")]
    [InlineData("bad-kind", "--input-kind 'lips' is not auto, crops or face")]
    public void BadVideo_OneLineError_Exit2(string kind, string expected)
    {
        using var dir = new TempDir();
        string path = dir.File(kind + ".mp4");
        var args = new List<string> { "frames", "--video", path, "--out", dir.File("roi.npy") };
        switch (kind)
        {
            case "garbage":
                var junk = new byte[3000];
                new Random(9).NextBytes(junk);
                File.WriteAllBytes(path, junk);
                break;
            case "audio-only":
                path = dir.File("a.wav");
                Tools.Run("sox", "-n", "-r", "16000", path, "synth", "0.2", "sine", "300");
                args[2] = path;
                break;
            case "bad-kind":
                path = MakeVideo(dir, "ok.mkv", 2, 96, 96, 25, Pattern, "-c:v", "ffv1", "-pix_fmt", "gray");
                args[2] = path;
                args.AddRange(["--input-kind", "lips"]);
                break;
        }
        var (code, _, stderr) = FrontendCliTests.Invoke([.. args]);
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
        Assert.Single(stderr.TrimEnd().Split('\n'));
        Assert.False(File.Exists(dir.File("roi.npy")));
    }
}

/// <summary>The ffmpeg pipe's output limit.</summary>
public class FfmpegPipeTests
{
    [Fact]
    public void OutputBeyondTheLimit_StopsFfmpeg_WithAClearError()
    {
        using var dir = new TempDir();
        string wav = dir.File("x.wav");
        Tools.Run("sox", "-n", "-r", "16000", wav, "synth", "1", "sine", "300");
        var e = Assert.Throws<EdgeAvsrException>(() => Ffmpeg.Run("ffmpeg", wav, ["-v", "error", "-i", wav, "-f", "f32le", "pipe:1"], maxBytes: 10_000));
        Assert.Contains("the decoded stream exceeds 10000 bytes", e.Message, StringComparison.Ordinal);
        Assert.Equal(64000, Ffmpeg.Run("ffmpeg", wav, ["-v", "error", "-i", wav, "-f", "f32le", "pipe:1"]).Length);
    }
}
