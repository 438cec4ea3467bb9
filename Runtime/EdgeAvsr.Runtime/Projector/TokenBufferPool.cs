namespace EdgeAvsr.Runtime.Projector;

/// <summary>
/// Token arrays handed back by the caller (<see cref="SmopProjector.Recycle"/>), kept for reuse by a later call of the
/// same length. Only exact lengths are reused because a <see cref="FloatMatrix"/> owns its whole array.
/// </summary>
internal sealed class TokenBufferPool
{
    private const int Capacity = 4;

    private readonly List<float[]> _free = [];

    public void Give(float[] buffer)
    {
        lock (_free)
        {
            if (_free.Count == Capacity)
            {
                _free.RemoveAt(0);
            }
            if (!_free.Exists(b => ReferenceEquals(b, buffer)))
            {
                _free.Add(buffer);
            }
        }
    }

    /// <summary>A zeroed array of <paramref name="length"/> floats: a recycled one when there is one, else a new one.</summary>
    public float[] TakeZeroed(int length)
    {
        float[]? buffer = null;
        lock (_free)
        {
            int i = _free.FindLastIndex(b => b.Length == length);
            if (i >= 0)
            {
                buffer = _free[i];
                _free.RemoveAt(i);
            }
        }
        if (buffer is null)
        {
            return new float[length];
        }
        Array.Clear(buffer);
        return buffer;
    }
}
