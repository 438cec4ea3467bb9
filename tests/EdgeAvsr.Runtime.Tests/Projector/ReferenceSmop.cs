using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Runtime.Tests.Projector;

/// <summary>
/// A straightforward fp64 implementation of the authors' Top_K_MoE and the three layouts, written
/// independently of the runtime (dense loops, no grouping) to check it.
/// </summary>
internal static class ReferenceSmop
{
    public sealed record Result(double[] Tokens, int Rows, int Columns, int[] Experts);

    public static double[] Pool(FloatMatrix x, int k)
    {
        int rows = x.Rows / k;
        var r = new double[rows * x.Columns];
        for (int t = 0; t < rows; t++)
        {
            for (int c = 0; c < x.Columns; c++)
            {
                double s = 0;
                for (int j = 0; j < k; j++)
                {
                    s += x.Data[(t * k + j) * x.Columns + c];
                }
                r[t * x.Columns + c] = s / k;
            }
        }
        return r;
    }

    /// <summary>Runs one mixture on rows of x; experts ordered by descending probability (ties: lower index).</summary>
    public static Result Mixture(MixtureWeights m, double[] x, int rows, int topK, bool int8Weights)
    {
        int din = m.InputDim, e = m.ExpertCount, d = m.OutputDim;
        var y = new double[rows * d];
        var experts = new int[rows * topK];
        for (int t = 0; t < rows; t++)
        {
            var xt = x.AsSpan(t * din, din);
            var logits = new double[e];
            for (int i = 0; i < e; i++)
            {
                for (int c = 0; c < din; c++)
                {
                    logits[i] += xt[c] * m.Router[i * din + c];
                }
            }
            double max = logits.Max();
            var p = logits.Select(l => Math.Exp(l - max)).ToArray();
            double sum = p.Sum();
            for (int i = 0; i < e; i++)
            {
                p[i] /= sum;
            }
            var order = Enumerable.Range(0, e).OrderByDescending(i => p[i]).ThenBy(i => i).Take(topK).ToArray();
            double chosen = order.Sum(i => p[i]);
            for (int s = 0; s < topK; s++)
            {
                experts[t * topK + s] = order[s];
                var o = Expert(m.Experts[order[s]], xt, int8Weights);
                for (int c = 0; c < d; c++)
                {
                    y[t * d + c] += p[order[s]] / chosen * o[c];
                }
            }
        }
        return new Result(y, rows, d, experts);
    }

    private static double[] Expert(ExpertWeights w, ReadOnlySpan<double> x, bool int8Weights)
    {
        var h = new double[w.HiddenDim];
        for (int j = 0; j < w.HiddenDim; j++)
        {
            double s = w.UpBias[j];
            for (int c = 0; c < w.InputDim; c++)
            {
                s += x[c] * UpWeight(w, j, c, int8Weights);
            }
            h[j] = Math.Max(s, 0);
        }
        var y = new double[w.OutputDim];
        for (int j = 0; j < w.OutputDim; j++)
        {
            double s = w.DownBias[j];
            for (int c = 0; c < w.HiddenDim; c++)
            {
                s += h[c] * DownWeight(w, j, c, int8Weights);
            }
            y[j] = s;
        }
        double mean = y.Average();
        double variance = y.Select(v => (v - mean) * (v - mean)).Average();
        double inv = 1 / Math.Sqrt(variance + 1e-5);
        for (int j = 0; j < y.Length; j++)
        {
            y[j] = (y[j] - mean) * inv * w.NormWeight[j] + w.NormBias[j];
        }
        return y;
    }

    private static double UpWeight(ExpertWeights w, int j, int c, bool int8) =>
        int8 ? (double)w.UpInt8![j * w.InputDim + c] * w.UpScale![j] : w.Up![j * w.InputDim + c];

    private static double DownWeight(ExpertWeights w, int j, int c, bool int8) =>
        int8 ? (double)w.DownInt8![j * w.HiddenDim + c] * w.DownScale![j] : w.Down![j * w.HiddenDim + c];

    /// <summary>Whole model: returns (audio, video) results per the layout.</summary>
    public static (Result? Audio, Result? Video) Run(SmopWeights weights, FloatMatrix? audio, FloatMatrix? video, int topK, int audioPool,
        int videoPool, bool int8Weights)
    {
        double[]? a = audio is null ? null : Pool(audio, audioPool);
        double[]? v = video is null ? null : Pool(video, videoPool);
        int aRows = audio is null ? 0 : audio.Rows / audioPool, vRows = video is null ? 0 : video.Rows / videoPool;
        if (weights.Layout == SmopLayout.Jejr && a is not null && v is not null)
        {
            var joint = Mixture(weights.Audio!, [.. a, .. v], aRows + vRows, topK, int8Weights);
            int d = joint.Columns;
            return (new Result(joint.Tokens[..(aRows * d)], aRows, d, joint.Experts[..(aRows * topK)]),
                    new Result(joint.Tokens[(aRows * d)..], vRows, d, joint.Experts[(aRows * topK)..]));
        }
        return (a is null ? null : Mixture(weights.Audio!, a, aRows, topK, int8Weights),
                v is null ? null : Mixture(weights.Video!, v, vRows, topK, int8Weights));
    }

    public static double RelativeL2(double[] reference, float[] actual) => Runtime.RelativeL2.Of(reference, actual);
}
