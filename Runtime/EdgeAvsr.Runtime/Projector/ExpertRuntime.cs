using System.Buffers;
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
            float mean = 0;
            foreach (float f in v)
            {
                mean += f;
            }
            mean /= d;
            float variance = 0;
            foreach (float f in v)
            {
                variance += (f - mean) * (f - mean);
            }
            variance /= d;
            float inv = 1f / MathF.Sqrt(variance + LayerNormEpsilon);
            for (int c = 0; c < d; c++)
            {
                v[c] = (v[c] - mean) * inv * Weights.NormWeight[c] + Weights.NormBias[c];
            }
        }
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
                var hr = h.Slice(r * hiddenDim, hiddenDim);
                for (int c = 0; c < hiddenDim; c++)
                {
                    hr[c] = MathF.Max(hr[c] + Weights.UpBias[c], 0f);
                }
            }
            _kernel.Multiply(h, rows, _down, y);
            for (int r = 0; r < rows; r++)
            {
                var yr = y.Slice(r * d, d);
                for (int c = 0; c < d; c++)
                {
                    yr[c] += Weights.DownBias[c];
                }
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
            var upScale = Weights.UpScale!;
            for (int r = 0; r < rows; r++)
            {
                var hr = hidden.AsSpan(r * hiddenDim, hiddenDim);
                var ar = acc.AsSpan(r * hiddenDim, hiddenDim);
                float s = tokenScale[r];
                for (int c = 0; c < hiddenDim; c++)
                {
                    hr[c] = MathF.Max(ar[c] * s * upScale[c] + Weights.UpBias[c], 0f);
                }
                tokenScale[r] = Int8Quantization.QuantizeRow(hr, q.AsSpan(r * hiddenDim, hiddenDim));
            }
            _kernel.Multiply(q.AsSpan(0, rows * hiddenDim), rows, _down, acc);
            var downScale = Weights.DownScale!;
            for (int r = 0; r < rows; r++)
            {
                var yr = y.Slice(r * d, d);
                var ar = acc.AsSpan(r * d, d);
                float s = tokenScale[r];
                for (int c = 0; c < d; c++)
                {
                    yr[c] = ar[c] * s * downScale[c] + Weights.DownBias[c];
                }
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
