using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;
using EdgeAvsr.Runtime.Projector.Kernels;

namespace EdgeAvsr.Runtime.Projector;

/// <summary>One expert, packed for a kernel: <c>Linear -> ReLU -> Linear -> LayerNorm</c> over a block of tokens.</summary>
internal abstract class ExpertRuntime(ExpertWeights weights)
{
    public const float LayerNormEpsilon = 1e-5f;

    public ExpertWeights Weights { get; } = weights;

    /// <param name="x">[rows, D] tokens routed to this expert.</param>
    /// <param name="rows">Token count.</param>
    /// <param name="y">[rows, d_llm] output.</param>
    public abstract void Run(ReadOnlySpan<float> x, int rows, Span<float> y);

    protected void LayerNorm(Span<float> y, int rows)
    {
        int d = Weights.OutputDim;
        for (int r = 0; r < rows; r++)
        {
            var v = y.Slice(r * d, d);
            float mean = Sum(v) / d;
            float variance = SumSquaredDeviation(v, mean) / d;
            float inv = 1f / MathF.Sqrt(variance + LayerNormEpsilon);
            int c = 0;
            if (Vector.IsHardwareAccelerated)
            {
                var vm = new Vector<float>(mean);
                var vi = new Vector<float>(inv);
                for (; c + Vector<float>.Count <= d; c += Vector<float>.Count)
                {
                    var x = (new Vector<float>(v.Slice(c)) - vm) * vi * new Vector<float>(Weights.NormWeight, c) + new Vector<float>(Weights.NormBias, c);
                    x.CopyTo(v.Slice(c));
                }
            }
            for (; c < d; c++)
            {
                v[c] = (v[c] - mean) * inv * Weights.NormWeight[c] + Weights.NormBias[c];
            }
        }
    }

    /// <summary><c>y[c] = acc[c] * tokenScale * channelScale[c] + bias[c]</c>, optionally ReLU; int32 accumulators to float.</summary>
    protected static void Dequantize(ReadOnlySpan<int> acc, float tokenScale, float[] channelScale, float[] bias, Span<float> y, bool relu)
    {
        int c = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var s = new Vector<float>(tokenScale);
            var zero = Vector<float>.Zero;
            var va = MemoryMarshal.Cast<int, Vector<int>>(acc);
            for (int j = 0; j < va.Length; j++, c += Vector<float>.Count)
            {
                var x = Vector.ConvertToSingle(va[j]) * s * new Vector<float>(channelScale, c) + new Vector<float>(bias, c);
                (relu ? Vector.Max(x, zero) : x).CopyTo(y.Slice(c));
            }
        }
        for (; c < acc.Length; c++)
        {
            float x = acc[c] * tokenScale * channelScale[c] + bias[c];
            y[c] = relu ? MathF.Max(x, 0f) : x;
        }
    }

    /// <summary><c>y[c] += bias[c]</c>, optionally ReLU.</summary>
    protected static void AddBias(Span<float> y, float[] bias, bool relu)
    {
        int c = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var zero = Vector<float>.Zero;
            for (; c + Vector<float>.Count <= y.Length; c += Vector<float>.Count)
            {
                var x = new Vector<float>(y.Slice(c)) + new Vector<float>(bias, c);
                (relu ? Vector.Max(x, zero) : x).CopyTo(y.Slice(c));
            }
        }
        for (; c < y.Length; c++)
        {
            float x = y[c] + bias[c];
            y[c] = relu ? MathF.Max(x, 0f) : x;
        }
    }

    private static float Sum(ReadOnlySpan<float> v)
    {
        int c = 0;
        float sum = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var acc = Vector<float>.Zero;
            for (; c + Vector<float>.Count <= v.Length; c += Vector<float>.Count)
            {
                acc += new Vector<float>(v.Slice(c));
            }
            sum = Vector.Sum(acc);
        }
        for (; c < v.Length; c++)
        {
            sum += v[c];
        }
        return sum;
    }

    private static float SumSquaredDeviation(ReadOnlySpan<float> v, float mean)
    {
        int c = 0;
        float sum = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var acc = Vector<float>.Zero;
            var m = new Vector<float>(mean);
            for (; c + Vector<float>.Count <= v.Length; c += Vector<float>.Count)
            {
                var dlt = new Vector<float>(v.Slice(c)) - m;
                acc += dlt * dlt;
            }
            sum = Vector.Sum(acc);
        }
        for (; c < v.Length; c++)
        {
            sum += (v[c] - mean) * (v[c] - mean);
        }
        return sum;
    }
}

internal sealed class Fp32ExpertRuntime : ExpertRuntime
{
    private readonly Fp32GemmKernel _kernel;
    private readonly PackedFloatMatrix _up;
    private readonly PackedFloatMatrix _down;

    public Fp32ExpertRuntime(ExpertWeights weights, Fp32GemmKernel kernel) : base(weights)
    {
        _kernel = kernel;
        _up = kernel.Pack(weights.Up, weights.HiddenDim, weights.InputDim);
        _down = kernel.Pack(weights.Down, weights.OutputDim, weights.HiddenDim);
    }

    public override void Run(ReadOnlySpan<float> x, int rows, Span<float> y)
    {
        int hiddenDim = Weights.HiddenDim, d = Weights.OutputDim;
        float[] hidden = ArrayPool<float>.Shared.Rent(rows * hiddenDim);
        try
        {
            var h = hidden.AsSpan(0, rows * hiddenDim);
            _kernel.Multiply(x, rows, _up, h);
            for (int r = 0; r < rows; r++)
            {
                AddBias(h.Slice(r * hiddenDim, hiddenDim), Weights.UpBias, relu: true);
            }
            _kernel.Multiply(h, rows, _down, y);
            for (int r = 0; r < rows; r++)
            {
                AddBias(y.Slice(r * d, d), Weights.DownBias, relu: false);
            }
            LayerNorm(y, rows);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(hidden);
        }
    }
}

/// <summary>
/// W8A8: weights int8 per output channel, activations int8 per token (dynamic, symmetric), int32
/// accumulation, dequantised with <c>acc * s_token * s_channel + bias</c> in float32.
/// </summary>
internal sealed class Int8ExpertRuntime : ExpertRuntime
{
    private readonly Int8GemmKernel _kernel;
    private readonly PackedInt8Matrix _up;
    private readonly PackedInt8Matrix _down;

    public Int8ExpertRuntime(ExpertWeights weights, Int8GemmKernel kernel) : base(weights)
    {
        _kernel = kernel;
        _up = kernel.Pack(weights.UpInt8, weights.HiddenDim, weights.InputDim);
        _down = kernel.Pack(weights.DownInt8, weights.OutputDim, weights.HiddenDim);
    }

    public override void Run(ReadOnlySpan<float> x, int rows, Span<float> y)
    {
        int din = Weights.InputDim, hiddenDim = Weights.HiddenDim, d = Weights.OutputDim;
        sbyte[] q = ArrayPool<sbyte>.Shared.Rent(rows * Math.Max(din, hiddenDim));
        int[] acc = ArrayPool<int>.Shared.Rent(rows * Math.Max(hiddenDim, d));
        float[] hidden = ArrayPool<float>.Shared.Rent(rows * hiddenDim);
        float[] tokenScale = ArrayPool<float>.Shared.Rent(rows);
        try
        {
            for (int r = 0; r < rows; r++)
            {
                tokenScale[r] = Int8Quantization.QuantizeRow(x.Slice(r * din, din), q.AsSpan(r * din, din));
            }
            _kernel.Multiply(q.AsSpan(0, rows * din), rows, _up, acc);
            for (int r = 0; r < rows; r++)
            {
                var hr = hidden.AsSpan(r * hiddenDim, hiddenDim);
                Dequantize(acc.AsSpan(r * hiddenDim, hiddenDim), tokenScale[r], Weights.UpScale!, Weights.UpBias, hr, relu: true);
                tokenScale[r] = Int8Quantization.QuantizeRow(hr, q.AsSpan(r * hiddenDim, hiddenDim));
            }
            _kernel.Multiply(q.AsSpan(0, rows * hiddenDim), rows, _down, acc);
            for (int r = 0; r < rows; r++)
            {
                Dequantize(acc.AsSpan(r * d, d), tokenScale[r], Weights.DownScale!, Weights.DownBias, y.Slice(r * d, d), relu: false);
            }
            LayerNorm(y, rows);
        }
        finally
        {
            ArrayPool<sbyte>.Shared.Return(q);
            ArrayPool<int>.Shared.Return(acc);
            ArrayPool<float>.Shared.Return(hidden);
            ArrayPool<float>.Shared.Return(tokenScale);
        }
    }
}
