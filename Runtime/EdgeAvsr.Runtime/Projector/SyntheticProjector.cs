using System.Runtime.InteropServices;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Runtime.Projector;

/// <summary>
/// Writes projector weights in the authors' key layout with PyTorch's default Linear initialisation
/// (uniform in +-1/sqrt(fan_in)) and perturbed LayerNorm affine terms, from a fixed seed. No download needed.
/// </summary>
public static class SyntheticProjector
{
    public static void Write(string path, SyntheticProjectorSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var rng = new Random(spec.Seed);
        var writer = new SafetensorsWriter();
        switch (spec.Layout)
        {
            case SmopLayout.Jejr:
                if (spec.AudioDim != spec.VideoDim)
                {
                    throw new EdgeAvsrException($"jejr needs equal audio and video widths (audio D={spec.AudioDim}, video D={spec.VideoDim})");
                }
                Linear(writer, rng, spec, SmopNames.JointPrefix + "gate.weight", spec.Experts, spec.AudioDim, bias: false);
                Experts(writer, rng, spec, SmopNames.JointPrefix + "experts.", spec.AudioDim);
                break;
            case SmopLayout.Dedr:
                if (spec.Audio)
                {
                    Linear(writer, rng, spec, SmopNames.AudioPrefix + "gate.weight", spec.Experts, spec.AudioDim, bias: false);
                    Experts(writer, rng, spec, SmopNames.AudioPrefix + "experts.", spec.AudioDim);
                }
                if (spec.Video)
                {
                    Linear(writer, rng, spec, SmopNames.VideoPrefix + "gate.weight", spec.Experts, spec.VideoDim, bias: false);
                    Experts(writer, rng, spec, SmopNames.VideoPrefix + "experts.", spec.VideoDim);
                }
                break;
            default:
                if (spec.AudioDim != spec.VideoDim)
                {
                    throw new EdgeAvsrException($"dejr shares one router, so audio and video widths must match (audio D={spec.AudioDim}, video " +
                        $"D={spec.VideoDim})");
                }
                Linear(writer, rng, spec, SmopNames.SharedRouter, spec.Experts, spec.AudioDim, bias: false);
                if (spec.Audio)
                {
                    Experts(writer, rng, spec, SmopNames.AudioPrefix + "experts.", spec.AudioDim);
                }
                if (spec.Video)
                {
                    Experts(writer, rng, spec, SmopNames.VideoPrefix + "experts.", spec.VideoDim);
                }
                break;
        }
        writer.Write(path);
    }

    /// <summary>Seeded encoder-like features <c>[frames, dim]</c> (standard normal).</summary>
    public static FloatMatrix Features(int frames, int dim, int seed)
    {
        var rng = new Random(seed);
        var m = new FloatMatrix(frames, dim);
        for (int i = 0; i < m.Data.Length; i++)
        {
            m.Data[i] = (float)Gaussian(rng);
        }
        return m;
    }

    private static void Experts(SafetensorsWriter writer, Random rng, SyntheticProjectorSpec spec, string prefix, int inputDim)
    {
        for (int e = 0; e < spec.Experts; e++)
        {
            string p = $"{prefix}{e}.";
            Linear(writer, rng, spec, p + "0.weight", spec.HiddenDim, inputDim, bias: true);
            Linear(writer, rng, spec, p + "2.weight", spec.OutputDim, spec.HiddenDim, bias: true);
            var gamma = new float[spec.OutputDim];
            var beta = new float[spec.OutputDim];
            for (int i = 0; i < gamma.Length; i++)
            {
                gamma[i] = 1f + 0.1f * (float)Gaussian(rng);
                beta[i] = 0.1f * (float)Gaussian(rng);
            }
            Add(writer, spec.DType, p + "3.weight", [spec.OutputDim], gamma);
            Add(writer, spec.DType, p + "3.bias", [spec.OutputDim], beta);
        }
    }

    private static void Linear(SafetensorsWriter writer, Random rng, SyntheticProjectorSpec spec, string weightKey, int outDim, int inDim, bool bias)
    {
        float bound = 1f / MathF.Sqrt(inDim);
        var w = new float[(long)outDim * inDim];
        for (int i = 0; i < w.Length; i++)
        {
            w[i] = (float)(rng.NextDouble() * 2 - 1) * bound;
        }
        Add(writer, spec.DType, weightKey, [outDim, inDim], w);
        if (bias)
        {
            var b = new float[outDim];
            for (int i = 0; i < b.Length; i++)
            {
                b[i] = (float)(rng.NextDouble() * 2 - 1) * bound;
            }
            Add(writer, spec.DType, weightKey[..^"weight".Length] + "bias", [outDim], b);
        }
    }

    private static void Add(SafetensorsWriter writer, TensorDType dtype, string key, long[] shape, float[] values)
    {
        switch (dtype)
        {
            case TensorDType.F32:
                writer.AddFloat32(key, shape, values);
                break;
            case TensorDType.F16:
                var h = values.Select(v => (Half)v).ToArray();
                writer.Add(key, TensorDType.F16, shape, MemoryMarshal.AsBytes(h.AsSpan()));
                break;
            case TensorDType.BF16:
                var b = values.Select(TensorDTypes.SingleToBFloat16).ToArray();
                writer.Add(key, TensorDType.BF16, shape, MemoryMarshal.AsBytes(b.AsSpan()));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "synthetic weights are F32, F16 or BF16");
        }
    }

    private static double Gaussian(Random rng)
    {
        double u1 = 1.0 - rng.NextDouble();
        double u2 = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
