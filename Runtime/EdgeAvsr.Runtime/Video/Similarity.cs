namespace EdgeAvsr.Runtime.Video;

/// <summary>A 2-D similarity (rotation, uniform scale, translation): <c>x' = a x - b y + tx, y' = b x + a y + ty</c>.</summary>
public readonly record struct Similarity(double A, double B, double Tx, double Ty)
{
    public double Scale => Math.Sqrt(A * A + B * B);

    /// <summary>Rotation in radians (counter-clockwise in x-right/y-up terms; clockwise on screen).</summary>
    public double Angle => Math.Atan2(B, A);

    public Point2 Apply(Point2 p) => new(A * p.X - B * p.Y + Tx, B * p.X + A * p.Y + Ty);

    public Similarity Inverse()
    {
        double d = A * A + B * B;
        double ia = A / d, ib = -B / d;
        return new Similarity(ia, ib, -(ia * Tx - ib * Ty), -(ib * Tx + ia * Ty));
    }
}
