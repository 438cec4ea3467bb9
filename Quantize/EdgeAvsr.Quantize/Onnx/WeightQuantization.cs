namespace EdgeAvsr.Quantize.Onnx;

/// <summary>A weight quantized symmetrically per channel: int8 values, zero point 0, one scale per channel along an axis.</summary>
internal sealed class WeightQuantization
{
    private WeightQuantization(sbyte[] values, float[] scales, long[] dims, int axis)
    {
        Values = values;
        Scales = scales;
        Dims = dims;
        Axis = axis;
    }

    public sbyte[] Values { get; }

    public float[] Scales { get; }

    public long[] Dims { get; }

    public int Axis { get; }

    /// <summary>
    /// Scale of channel c = max |w_c| / qmax with qmax = 2^(bits-1) - 1 (127 or 63); values rounded half to even (as
    /// ONNX's QuantizeLinear and numpy round) and clamped to [-qmax, qmax]. An all-zero channel gets scale 1.
    /// </summary>
    public static WeightQuantization PerChannel(float[] w, long[] dims, int axis, int bits)
    {
        int qmax = (1 << (bits - 1)) - 1;
        int channels = checked((int)dims[axis]);
        long inner = 1;
        for (int d = axis + 1; d < dims.Length; d++)
        {
            inner *= dims[d];
        }
        var amax = new float[channels];
        for (long i = 0; i < w.Length; i++)
        {
            int c = (int)(i / inner % channels);
            amax[c] = Math.Max(amax[c], Math.Abs(w[i]));
        }
        var scales = amax.Select(a => a > 0 ? a / qmax : 1f).ToArray();
        var q = new sbyte[w.Length];
        for (long i = 0; i < w.Length; i++)
        {
            int c = (int)(i / inner % channels);
            float v = MathF.Round(w[i] / scales[c], MidpointRounding.ToEven);
            q[i] = (sbyte)Math.Clamp(v, -qmax, qmax);
        }
        return new WeightQuantization(q, scales, dims, axis);
    }

    public float[] Dequantize()
    {
        long inner = 1;
        for (int d = Axis + 1; d < Dims.Length; d++)
        {
            inner *= Dims[d];
        }
        var w = new float[Values.Length];
        for (long i = 0; i < w.Length; i++)
        {
            w[i] = Values[i] * Scales[(int)(i / inner % Scales.Length)];
        }
        return w;
    }
}
