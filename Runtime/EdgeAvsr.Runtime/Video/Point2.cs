namespace EdgeAvsr.Runtime.Video;

/// <summary>A point in pixel coordinates (x right, y down; pixel centres at integers).</summary>
public readonly record struct Point2(double X, double Y);
