using EdgeAvsr.Runtime.Video;

namespace EdgeAvsr.Runtime.Tests.Video;

/// <summary>The full-face geometry on synthetic landmarks: similarity fit, smoothing window, interpolation, crop.</summary>
public class MouthAlignmentTests
{
    private static readonly Point2 s_canonicalMouth = new(128, 165);

    /// <summary>A canonical 68-point face (stable points where the canonical face puts them, a 20-point mouth ring
    /// around (128, 165), other points spread around) mapped into an image by <paramref name="placement"/>.</summary>
    private static Point2[] Face(Similarity placement, double mouthOpen = 1)
    {
        var canonical = new Point2[68];
        for (int i = 0; i < 68; i++)
        {
            canonical[i] = new Point2(60 + i * 2, 60 + (i % 7) * 5);
        }
        for (int i = 0; i < MouthAlignment.StablePoints.Count; i++)
        {
            canonical[MouthAlignment.StablePoints[i]] = MouthAlignment.CanonicalStablePoints[i];
        }
        for (int i = 48; i < 68; i++)
        {
            double a = 2 * Math.PI * (i - 48) / 20;
            canonical[i] = new Point2(s_canonicalMouth.X + 22 * Math.Cos(a), s_canonicalMouth.Y + 9 * mouthOpen * Math.Sin(a));
        }
        return canonical.Select(placement.Apply).ToArray();
    }

    private static Similarity Placement(double scale, double degrees, double tx, double ty)
    {
        double r = degrees * Math.PI / 180;
        return new Similarity(scale * Math.Cos(r), scale * Math.Sin(r), tx, ty);
    }

    [Fact]
    public void Estimate_RecoversAKnownSimilarity_AndInverseUndoesIt()
    {
        var placement = Placement(1.7, 13, 40, -25);
        var source = MouthAlignment.CanonicalStablePoints.Select(placement.Apply).ToArray();
        var fit = MouthAlignment.Estimate(source, MouthAlignment.CanonicalStablePoints.ToArray());
        var expected = placement.Inverse();
        Assert.Equal(expected.A, fit.A, 10);
        Assert.Equal(expected.B, fit.B, 10);
        Assert.Equal(expected.Tx, fit.Tx, 8);
        Assert.Equal(expected.Ty, fit.Ty, 8);
        Assert.Equal(1 / 1.7, fit.Scale, 10);
        var p = new Point2(17.5, -3.25);
        var back = fit.Inverse().Apply(fit.Apply(p));
        Assert.Equal(p.X, back.X, 10);
        Assert.Equal(p.Y, back.Y, 10);
    }

    [Fact]
    public void FrameTransforms_AverageStablePointsOverTwelveFrames_LastFramesReuseTheLast()
    {
        var rng = new Random(4);
        const int frames = 20;
        var landmarks = Enumerable.Range(0, frames).Select(t =>
            Face(Placement(1.2 + 0.01 * t, 3 * Math.Sin(t), 100 + t + rng.NextDouble(), 80 + rng.NextDouble()))).ToArray();
        var transforms = MouthAlignment.FrameTransforms(landmarks);
        for (int t = 0; t < frames; t++)
        {
            int start = Math.Min(t, frames - 12);
            var mean = MouthAlignment.StablePoints.Select(i => new Point2(
                Enumerable.Range(start, 12).Average(u => landmarks[u][i].X),
                Enumerable.Range(start, 12).Average(u => landmarks[u][i].Y))).ToArray();
            var expected = MouthAlignment.Estimate(mean, MouthAlignment.CanonicalStablePoints.ToArray());
            Assert.Equal(expected, transforms[t]);
        }
        // Shorter than the window: one transform from the mean of all frames.
        var shortClip = MouthAlignment.FrameTransforms(landmarks[..5]);
        Assert.All(shortClip, s => Assert.Equal(shortClip[0], s));
    }

    [Fact]
    public void Interpolate_FillsGapsLinearly_AndCopiesAtTheEnds()
    {
        var a = Face(Placement(1, 0, 0, 0));
        var b = Face(Placement(1, 0, 30, 60));
        var filled = MouthAlignment.Interpolate([null, a, null, null, b, null]);
        Assert.Equal(a[10], filled[0][10]);
        Assert.Equal(a[10].X + 10, filled[2][10].X, 9);
        Assert.Equal(a[10].Y + 40, filled[3][10].Y, 9);
        Assert.Equal(b[10], filled[5][10]);
        Assert.Throws<EdgeAvsrException>(() => MouthAlignment.Interpolate([null, null]));
        Assert.Throws<EdgeAvsrException>(() => MouthAlignment.Interpolate([new Point2[5]]));
    }

    [Fact]
    public void CropMouths_CentresTheMouth_UndoingScaleRotationAndMotion()
    {
        const int width = 480, height = 360, frames = 16;
        var placements = Enumerable.Range(0, frames).Select(t => Placement(1.6, 12, 60 + 3 * t, -40 + t)).ToArray();
        var pixels = new byte[frames * width * height];
        var landmarks = new Point2[]?[frames];
        for (int t = 0; t < frames; t++)
        {
            landmarks[t] = t == 5 ? null : Face(placements[t]);
            // A bright disk of radius 6 canonical pixels on the mouth, drawn in the image.
            var centre = placements[t].Apply(s_canonicalMouth);
            double radius = 6 * 1.6;
            for (int y = 0; y < height; y++)
            {
                for (int x = 0; x < width; x++)
                {
                    double dx = x - centre.X, dy = y - centre.Y;
                    pixels[(t * height + y) * width + x] = dx * dx + dy * dy <= radius * radius ? (byte)250 : (byte)10;
                }
            }
        }
        var crops = MouthAlignment.CropMouths(new GrayFrames(pixels, frames, width, height), landmarks);
        Assert.Equal(96, crops.Width);
        Assert.Equal(frames, crops.Count);
        for (int t = 0; t < frames; t++)
        {
            var crop = crops.Frame(t);
            double sx = 0, sy = 0, area = 0;
            for (int y = 0; y < 96; y++)
            {
                for (int x = 0; x < 96; x++)
                {
                    double w = Math.Max(0, crop[y * 96 + x] - 10) / 240.0;
                    sx += w * x;
                    sy += w * y;
                    area += w;
                }
            }
            // The disk sits at the crop centre (within the patch corner's rounding) at its canonical size.
            Assert.InRange(sx / area, 47.0 - 1.0, 48.0 + 1.0);
            Assert.InRange(sy / area, 47.0 - 1.0, 48.0 + 1.0);
            Assert.InRange(area, Math.PI * 36 * 0.85, Math.PI * 36 * 1.15);
        }
    }
}
