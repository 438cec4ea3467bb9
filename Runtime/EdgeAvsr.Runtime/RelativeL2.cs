namespace EdgeAvsr.Runtime;

/// <summary>How far one vector is from a reference, relative to the reference's size.</summary>
public static class RelativeL2
{
    /// <summary>
    /// <c>||reference - actual||_2 / ||reference||_2</c>, accumulated in float64. When the reference is all zeros the
    /// ratio is defined as 0 if <paramref name="actual"/> is all zeros too and positive infinity otherwise (any error
    /// is infinitely large against nothing). The spans must be equally long.
    /// </summary>
    public static double Of(ReadOnlySpan<float> reference, ReadOnlySpan<float> actual)
    {
        CheckLengths(reference.Length, actual.Length);
        double num = 0, den = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            double d = (double)actual[i] - reference[i];
            num += d * d;
            den += (double)reference[i] * reference[i];
        }
        return Ratio(num, den);
    }

    /// <summary>As <see cref="Of(ReadOnlySpan{float}, ReadOnlySpan{float})"/> with a float64 reference.</summary>
    public static double Of(ReadOnlySpan<double> reference, ReadOnlySpan<float> actual)
    {
        CheckLengths(reference.Length, actual.Length);
        double num = 0, den = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            double d = actual[i] - reference[i];
            num += d * d;
            den += reference[i] * reference[i];
        }
        return Ratio(num, den);
    }

    private static double Ratio(double num, double den) => den > 0 ? Math.Sqrt(num / den) : num > 0 ? double.PositiveInfinity : 0;

    private static void CheckLengths(int reference, int actual)
    {
        if (reference != actual)
        {
            throw new ArgumentException($"the reference has {reference} values, the compared vector {actual}");
        }
    }
}
