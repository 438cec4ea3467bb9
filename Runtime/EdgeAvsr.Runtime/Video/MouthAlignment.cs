namespace EdgeAvsr.Runtime.Video;

/// <summary>
/// Full-face video to mouth crops, following the authors' preprocessing (AV-HuBERT / Auto-AVSR <c>crop_patch</c>):
/// 68-point landmarks per frame (missing frames interpolated); the landmarks averaged over a moving window of
/// 12 frames; a similarity transform that maps the averaged stable points (nose tip 33, eye corners 36, 39, 42, 45)
/// onto a canonical face in a 256x256 standard frame; the frame warped (bilinear) and a 96x96 patch cut around the
/// mean of the current frame's transformed mouth landmarks (48-67), kept inside the standard frame.
/// All pure functions; the landmarks come from a landmark model (docs/landmark-model.md).
/// </summary>
public static class MouthAlignment
{
    public const int LandmarkCount = 68;
    public const int MouthFirst = 48;
    public const int MouthEnd = 68;
    public const int SmoothingWindow = 12;
    public const int StandardSize = 256;

    /// <summary>Landmark indices of the stable points: nose tip, right eye outer/inner, left eye inner/outer corners.</summary>
    public static IReadOnlyList<int> StablePoints { get; } = [33, 36, 39, 42, 45];

    /// <summary>
    /// Where the stable points go in the 256x256 standard frame. EdgeAvsr's own canonical face (the authors' mean-face
    /// file is not available here): eye corners on the line y = 100, outer corners 81 px apart centred on x = 128, inner
    /// corners 28.8 px apart, nose tip at (128, 140.5) - average adult proportions at 0.9 px per mm, which puts a mouth
    /// about 45 px wide in the 96-px crop, as in LRS3's crops.
    /// </summary>
    public static IReadOnlyList<Point2> CanonicalStablePoints { get; } =
        [new(128, 140.5), new(87.5, 100), new(113.6, 100), new(142.4, 100), new(168.5, 100)];

    /// <summary>Least-squares similarity mapping <paramref name="source"/> onto <paramref name="target"/> (no reflection).</summary>
    public static Similarity Estimate(ReadOnlySpan<Point2> source, ReadOnlySpan<Point2> target)
    {
        if (source.Length != target.Length || source.Length < 2)
        {
            throw new ArgumentException("need at least two corresponding points");
        }
        double sx = 0, sy = 0, tx = 0, ty = 0;
        for (int i = 0; i < source.Length; i++)
        {
            sx += source[i].X;
            sy += source[i].Y;
            tx += target[i].X;
            ty += target[i].Y;
        }
        int n = source.Length;
        sx /= n;
        sy /= n;
        tx /= n;
        ty /= n;
        double dot = 0, cross = 0, norm = 0;
        for (int i = 0; i < n; i++)
        {
            double px = source[i].X - sx, py = source[i].Y - sy, qx = target[i].X - tx, qy = target[i].Y - ty;
            dot += px * qx + py * qy;
            cross += px * qy - py * qx;
            norm += px * px + py * py;
        }
        if (norm <= 0)
        {
            throw new EdgeAvsrException("landmarks: the stable points coincide; cannot align the face");
        }
        double a = dot / norm, b = cross / norm;
        return new Similarity(a, b, tx - (a * sx - b * sy), ty - (b * sx + a * sy));
    }

    /// <summary>
    /// Frames without landmarks (null) filled by linear interpolation between the nearest detected frames; leading and
    /// trailing gaps copy the nearest detection (the authors' <c>landmarks_interpolate</c>). No detection at all is an error.
    /// </summary>
    public static Point2[][] Interpolate(IReadOnlyList<Point2[]?> landmarks)
    {
        ArgumentNullException.ThrowIfNull(landmarks);
        var known = new List<int>();
        for (int t = 0; t < landmarks.Count; t++)
        {
            if (landmarks[t] is { } l)
            {
                if (l.Length != LandmarkCount)
                {
                    throw new EdgeAvsrException($"landmarks: frame {t} has {l.Length} points, expected {LandmarkCount}");
                }
                known.Add(t);
            }
        }
        if (known.Count == 0)
        {
            throw new EdgeAvsrException("landmarks: no face found in any frame");
        }
        var result = new Point2[landmarks.Count][];
        for (int t = 0; t < landmarks.Count; t++)
        {
            int next = known.FindIndex(k => k >= t);
            if (next >= 0 && known[next] == t)
            {
                result[t] = (Point2[])landmarks[t]!.Clone();
            }
            else if (next <= 0)
            {
                result[t] = (Point2[])landmarks[known[next < 0 ? known.Count - 1 : 0]]!.Clone();
            }
            else
            {
                int t0 = known[next - 1], t1 = known[next];
                double w = (double)(t - t0) / (t1 - t0);
                var a = landmarks[t0]!;
                var b = landmarks[t1]!;
                result[t] = new Point2[LandmarkCount];
                for (int i = 0; i < LandmarkCount; i++)
                {
                    result[t][i] = new Point2(a[i].X + w * (b[i].X - a[i].X), a[i].Y + w * (b[i].Y - a[i].Y));
                }
            }
        }
        return result;
    }

    /// <summary>
    /// One transform per frame, as the authors' queue computes them: frame t (t &lt;= T - window) uses the stable points
    /// averaged over frames t .. t + window - 1; the last window - 1 frames reuse the last transform. A clip shorter
    /// than the window uses the average over all its frames.
    /// </summary>
    public static Similarity[] FrameTransforms(IReadOnlyList<Point2[]> landmarks, int window = SmoothingWindow)
    {
        ArgumentNullException.ThrowIfNull(landmarks);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        int frames = landmarks.Count;
        var result = new Similarity[frames];
        if (frames == 0)
        {
            return result;
        }
        int span = Math.Min(window, frames);
        int last = frames - span;
        var target = CanonicalStablePoints.ToArray();
        var mean = new Point2[StablePoints.Count];
        for (int t = 0; t <= last; t++)
        {
            for (int i = 0; i < StablePoints.Count; i++)
            {
                double x = 0, y = 0;
                for (int u = t; u < t + span; u++)
                {
                    x += landmarks[u][StablePoints[i]].X;
                    y += landmarks[u][StablePoints[i]].Y;
                }
                mean[i] = new Point2(x / span, y / span);
            }
            result[t] = Estimate(mean, target);
        }
        for (int t = last + 1; t < frames; t++)
        {
            result[t] = result[last];
        }
        return result;
    }

    /// <summary>
    /// Top-left corner, in the standard frame, of the 96x96 patch around the transformed mouth landmarks' mean
    /// (rounded half to even as Python's <c>round</c>), moved inside the 256x256 frame if it would cross an edge.
    /// </summary>
    public static (int X0, int Y0) PatchCorner(Point2[] landmarks, Similarity transform, int crop = MouthRoi.CropSize)
    {
        ArgumentNullException.ThrowIfNull(landmarks);
        double cx = 0, cy = 0;
        for (int i = MouthFirst; i < MouthEnd; i++)
        {
            var p = transform.Apply(landmarks[i]);
            cx += p.X;
            cy += p.Y;
        }
        cx /= MouthEnd - MouthFirst;
        cy /= MouthEnd - MouthFirst;
        int half = crop / 2;
        cx = Math.Clamp(cx, half, StandardSize - half);
        cy = Math.Clamp(cy, half, StandardSize - half);
        return ((int)Math.Round(cx, MidpointRounding.ToEven) - half, (int)Math.Round(cy, MidpointRounding.ToEven) - half);
    }

    /// <summary>Full frames plus per-frame landmarks (null where none was found) to 96x96 mouth crops.</summary>
    public static GrayFrames CropMouths(GrayFrames frames, IReadOnlyList<Point2[]?> landmarks, int window = SmoothingWindow)
    {
        ArgumentNullException.ThrowIfNull(frames);
        ArgumentNullException.ThrowIfNull(landmarks);
        if (landmarks.Count != frames.Count)
        {
            throw new EdgeAvsrException($"landmarks: {landmarks.Count} frames of landmarks for {frames.Count} video frames");
        }
        var filled = Interpolate(landmarks);
        var transforms = FrameTransforms(filled, window);
        const int crop = MouthRoi.CropSize;
        var output = new byte[frames.Count * crop * crop];
        for (int t = 0; t < frames.Count; t++)
        {
            var (x0, y0) = PatchCorner(filled[t], transforms[t]);
            var inverse = transforms[t].Inverse();
            var src = frames.Frame(t);
            var dst = output.AsSpan(t * crop * crop, crop * crop);
            for (int v = 0; v < crop; v++)
            {
                for (int u = 0; u < crop; u++)
                {
                    var s = inverse.Apply(new Point2(x0 + u, y0 + v));
                    dst[v * crop + u] = Bilinear(src, frames.Width, frames.Height, s.X, s.Y);
                }
            }
        }
        return new GrayFrames(output, frames.Count, crop, crop);
    }

    // Pixels outside the frame read as 0 (the authors' warp pads with black).
    private static byte Bilinear(ReadOnlySpan<byte> image, int width, int height, double x, double y)
    {
        int x0 = (int)Math.Floor(x), y0 = (int)Math.Floor(y);
        double fx = x - x0, fy = y - y0;
        double top = Pixel(image, width, height, x0, y0) * (1 - fx) + Pixel(image, width, height, x0 + 1, y0) * fx;
        double bottom = Pixel(image, width, height, x0, y0 + 1) * (1 - fx) + Pixel(image, width, height, x0 + 1, y0 + 1) * fx;
        double value = top * (1 - fy) + bottom * fy;
        return (byte)Math.Clamp(Math.Round(value, MidpointRounding.ToEven), 0, 255);
    }

    private static double Pixel(ReadOnlySpan<byte> image, int width, int height, int x, int y) =>
        x < 0 || y < 0 || x >= width || y >= height ? 0 : image[y * width + x];
}
