namespace EdgeAvsr.Runtime.Tests;

public class RelativeL2Tests
{
    [Fact]
    public void Of_IsTheErrorNormOverTheReferenceNorm()
    {
        // ||(0, 5)|| / ||(3, 4)|| = 5 / 5; ||(0, 0, 0, 0.5)|| / ||(1, 0, 0, 0)|| = 0.5.
        Assert.Equal(1.0, RelativeL2.Of([3f, 4f], [3f, 9f]), 12);
        Assert.Equal(0.5, RelativeL2.Of([1f, 0f, 0f, 0f], [1f, 0f, 0f, 0.5f]), 12);
        Assert.Equal(0.5, RelativeL2.Of([1.0, 0.0, 0.0, 0.0], [1f, 0f, 0f, 0.5f]), 12);
        Assert.Equal(0.0, RelativeL2.Of([2f, -7f], [2f, -7f]));
    }

    [Fact]
    public void Of_AZeroReference_IsZeroWhenBothAreZero_InfinityOtherwise()
    {
        Assert.Equal(0.0, RelativeL2.Of([0f, 0f, 0f], [0f, 0f, 0f]));
        Assert.Equal(0.0, RelativeL2.Of(ReadOnlySpan<float>.Empty, ReadOnlySpan<float>.Empty));
        Assert.Equal(double.PositiveInfinity, RelativeL2.Of([0f, 0f, 0f], [0f, 1e-30f, 0f]));
        Assert.Equal(double.PositiveInfinity, RelativeL2.Of([0.0, 0.0], [0f, -2f]));
    }

    [Fact]
    public void Of_RefusesVectorsOfDifferentLengths()
    {
        var e = Assert.Throws<ArgumentException>(() => RelativeL2.Of([1f, 2f], [1f]));
        Assert.Contains("2 values", e.Message, StringComparison.Ordinal);
    }
}
