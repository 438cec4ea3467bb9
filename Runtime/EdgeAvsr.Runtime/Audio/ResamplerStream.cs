using System.Numerics;

namespace EdgeAvsr.Runtime.Audio;

/// <summary>
/// <see cref="Resampler"/> over input pushed in pieces: <see cref="Push"/> returns the outputs whose whole filter window has
/// arrived, <see cref="Finish"/> the rest (zeros after the end, as <see cref="Resampler.Process"/> pads). Concatenated, they
/// equal <see cref="Resampler.Process"/> of the whole input exactly: the same taps and the same dot products, in the same
/// order. Keeps only the input the next outputs still need.
/// </summary>
public sealed class ResamplerStream
{
    private readonly Resampler _resampler;
    private float[] _buffer = new float[4096];
    private long _bufferStart;   // input index of _buffer[0]
    private int _count;          // valid samples in _buffer
    private long _received;
    private long _next;          // next output index
    private bool _finished;

    internal ResamplerStream(Resampler resampler) => _resampler = resampler;

    /// <summary>Input samples received so far.</summary>
    public long Received => _received;

    public float[] Push(ReadOnlySpan<float> input)
    {
        if (_finished)
        {
            throw new InvalidOperationException("the stream was finished");
        }
        Append(input);
        _received += input.Length;
        // An output is final once its window has arrived and it lies inside ceil(received n / o).
        long limit = (_received * _resampler.Up + _resampler.Down - 1) / _resampler.Down;
        return Emit(limit, windowMustBeComplete: true);
    }

    public float[] Finish()
    {
        if (_finished)
        {
            return [];
        }
        _finished = true;
        long total = (_received * _resampler.Up + _resampler.Down - 1) / _resampler.Down;
        return Emit(total, windowMustBeComplete: false);
    }

    private float[] Emit(long limit, bool windowMustBeComplete)
    {
        var output = new List<float>();
        float[] scratch = [];
        for (; _next < limit; _next++)
        {
            var (first, taps) = _resampler.Window(_next);
            long end = first + taps.Length;
            if (windowMustBeComplete && end > _received)
            {
                break;
            }
            ReadOnlySpan<float> x;
            if (first >= _bufferStart && end <= _bufferStart + _count)
            {
                x = _buffer.AsSpan((int)(first - _bufferStart), taps.Length);
            }
            else
            {
                // The window reaches before the signal or after its end: zeros there, as Process pads.
                if (scratch.Length < taps.Length)
                {
                    scratch = new float[taps.Length];
                }
                Array.Clear(scratch);
                for (long k = Math.Max(first, _bufferStart); k < Math.Min(end, _bufferStart + _count); k++)
                {
                    scratch[k - first] = _buffer[k - _bufferStart];
                }
                x = scratch.AsSpan(0, taps.Length);
            }
            output.Add(Resampler.DotProduct(x, taps));
        }
        // Drop what no later output reads (windows only move forward).
        long keep = Math.Max(_bufferStart, _resampler.Window(_next).FirstInput);
        int drop = (int)Math.Min(_count, keep - _bufferStart);
        if (drop > 0)
        {
            _buffer.AsSpan(drop, _count - drop).CopyTo(_buffer);
            _count -= drop;
            _bufferStart += drop;
        }
        return [.. output];
    }

    private void Append(ReadOnlySpan<float> input)
    {
        if (_count + input.Length > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _count + input.Length));
        }
        input.CopyTo(_buffer.AsSpan(_count));
        _count += input.Length;
    }
}
