using System.Runtime.CompilerServices;

namespace EdgeAvsr.Runtime.Projector;

/// <summary>Average pooling along time over non-overlapping windows (PyTorch <c>AvgPool1d(K)</c> on [T, D]).</summary>
public static class TemporalPooling
{
    /// <summary>Frames <c>[T, D]</c> to <c>[floor(T / K), D]</c>; a remainder shorter than K is dropped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static FloatMatrix Average(FloatMatrix frames, int window)
    {
        ArgumentNullException.ThrowIfNull(frames);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        if (window == 1)
        {
            return frames;
        }
        int outRows = frames.Rows / window;
        int d = frames.Columns;
        var result = new FloatMatrix(outRows, d);
        for (int t = 0; t < outRows; t++)
        {
            var dst = result.Row(t);
            frames.Row(t * window).CopyTo(dst);
            for (int j = 1; j < window; j++)
            {
                var src = frames.Row(t * window + j);
                for (int c = 0; c < d; c++)
                {
                    dst[c] += src[c];
                }
            }
            // Divide, as AvgPool1d does: a multiply by 1/K differs in the last bit for K = 3, 5, ...
            for (int c = 0; c < d; c++)
            {
                dst[c] /= window;
            }
        }
        return result;
    }
}
