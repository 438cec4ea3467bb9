using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
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
            LayerNormRow(Weights, y.Slice(r * d, d));
        }
    }

    /// <summary>In-place <c>LayerNorm(d_llm, eps 1e-5, affine)</c> of one output row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void LayerNormRow(ExpertWeights weights, Span<float> v)
    {
        int d = weights.OutputDim;
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
                var x = (new Vector<float>(v.Slice(c)) - vm) * vi * new Vector<float>(weights.NormWeight, c) + new Vector<float>(weights.NormBias, c);
                x.CopyTo(v.Slice(c));
            }
        }
        for (; c < d; c++)
        {
            v[c] = (v[c] - mean) * inv * weights.NormWeight[c] + weights.NormBias[c];
        }
    }

    /// <summary><c>y[c] += w * o[c]</c>: one weighted slot of the top-k sum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void AddScaled(Span<float> y, float w, ReadOnlySpan<float> o)
    {
        int c = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vw = new Vector<float>(w);
            for (; c + Vector<float>.Count <= y.Length; c += Vector<float>.Count)
            {
                (new Vector<float>(y.Slice(c)) + vw * new Vector<float>(o.Slice(c))).CopyTo(y.Slice(c));
            }
        }
        for (; c < y.Length; c++)
        {
            y[c] += w * o[c];
        }
    }

    /// <summary><c>y[c] = acc[c] * tokenScale * channelScale[c] + bias[c]</c>, optionally ReLU; int32 accumulators to float.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Dequantize(ReadOnlySpan<int> acc, float tokenScale, ReadOnlySpan<float> channelScale, ReadOnlySpan<float> bias,
        Span<float> y, bool relu)
    {
        int c = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var s = new Vector<float>(tokenScale);
            var zero = Vector<float>.Zero;
            var va = MemoryMarshal.Cast<int, Vector<int>>(acc);
            for (int j = 0; j < va.Length; j++, c += Vector<float>.Count)
            {
                var x = Vector.ConvertToSingle(va[j]) * s * new Vector<float>(channelScale.Slice(c)) + new Vector<float>(bias.Slice(c));
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
