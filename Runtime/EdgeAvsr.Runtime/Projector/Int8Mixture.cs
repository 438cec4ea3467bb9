using System.Buffers;
using System.Numerics;
using EdgeAvsr.Runtime.Projector.Kernels;

namespace EdgeAvsr.Runtime.Projector;

/// <summary>
/// The INT8 experts of one mixture (W8A8: weights int8 per output channel, activations int8 per token,
/// dynamic and symmetric, int32 accumulation, dequantised with <c>acc * s_token * s_channel + bias</c> in
/// float32), run as a pipeline over all routed rows of all experts at once:
/// <list type="number">
/// <item>quantize each routed token row straight into its expert's activation buffer (parallel over rows);</item>
/// <item>first Linear: work items are (expert, block of <see cref="ColumnBlock"/> output channels), so both
/// cores share one expert's activations and each streams its own part of the weights exactly once per call;
/// the epilogue (dequantise, bias, ReLU) runs on each block while it is hot;</item>
/// <item>requantize the hidden rows (parallel over rows);</item>
/// <item>second Linear, same work items, epilogue dequantise + bias;</item>
/// <item>LayerNorm and the weighted top-k sum, parallel over tokens, slots summed in order (deterministic).</item>
/// </list>
/// Buffers live in a workspace reused across calls.
/// </summary>
internal sealed class Int8Mixture
{
    /// <summary>Output channels per GEMM work item (a multiple of every kernel's panel width).</summary>
    public const int ColumnBlock = 64;

    private const int RowChunk = 16;

    private delegate void Epilogue(int row, ReadOnlySpan<int> acc);

    private readonly Int8GemmKernel _kernel;
    private readonly ExpertWeights[] _experts;
    private readonly PackedInt8Matrix[] _up;
    private readonly PackedInt8Matrix[] _down;
    private readonly int _threads;
    private Workspace? _spare;

    public Int8Mixture(ExpertWeights[] experts, Int8GemmKernel kernel, int threads)
    {
        _kernel = kernel;
        _experts = experts;
        _threads = Math.Max(1, threads);
        _up = new PackedInt8Matrix[experts.Length];
        _down = new PackedInt8Matrix[experts.Length];
        Parallel.For(0, experts.Length, new ParallelOptions { MaxDegreeOfParallelism = _threads }, e =>
        {
            var w = experts[e];
            _up[e] = kernel.Pack(w.UpInt8!, w.HiddenDim, w.InputDim);
            _down[e] = kernel.Pack(w.DownInt8!, w.OutputDim, w.HiddenDim);
        });
    }

    /// <summary>
    /// Projects <paramref name="x"/> (<c>[T, D]</c>) with the routing <paramref name="slotExperts"/> /
    /// <paramref name="slotWeights"/> (<c>[T, k]</c>) into <paramref name="result"/> (<c>[T, d_llm]</c>, zeroed);
    /// adds each expert's row count to <paramref name="counts"/>.
    /// </summary>
    public void Run(FloatMatrix x, int[] slotExperts, float[] slotWeights, int k, long[] counts, FloatMatrix result)
    {
        int tokens = x.Rows, e = _experts.Length;
        int din = _experts[0].InputDim, hiddenDim = _experts[0].HiddenDim, d = _experts[0].OutputDim;
        var ws = Interlocked.Exchange(ref _spare, null) ?? new Workspace(e, _kernel);
        try
        {
            // Group the (token, slot) pairs by expert, in token order: rows of expert i are
            // start[i] .. start[i+1]-1 of the row space; rowOfSlot maps each slot to its row.
            int rows = tokens * k;
            ws.Ensure(rows, hiddenDim, d);
            var start = ws.Start;
            Array.Clear(start);
            for (int s = 0; s < rows; s++)
            {
                start[slotExperts[s] + 1]++;
            }
            for (int i = 0; i < e; i++)
            {
                counts[i] += start[i + 1];
                start[i + 1] += start[i];
            }
            var fill = ws.Fill;
            Array.Copy(start, fill, e);
            for (int s = 0; s < rows; s++)
            {
                int row = fill[slotExperts[s]]++;
                ws.SlotOfRow[row] = s;
                ws.RowOfSlot[s] = row;
            }
            for (int i = 0; i < e; i++)
            {
                ws.Input[i].Resize(start[i + 1] - start[i], din);
                ws.Hidden[i].Resize(start[i + 1] - start[i], hiddenDim);
            }

            // 1. Quantize the routed token rows into their experts' activations.
            ForEach((rows + RowChunk - 1) / RowChunk, chunk =>
            {
                sbyte[] q = ArrayPool<sbyte>.Shared.Rent(din);
                try
                {
                    for (int row = chunk * RowChunk; row < Math.Min(rows, (chunk + 1) * RowChunk); row++)
                    {
                        int expert = ExpertOf(start, row);
                        var qs = q.AsSpan(0, din);
                        ws.Scale1[row] = Int8Quantization.QuantizeRow(x.Row(ws.SlotOfRow[row] / k), qs);
                        ws.Input[expert].SetRow(row - start[expert], qs);
                    }
                }
                finally
                {
                    ArrayPool<sbyte>.Shared.Return(q);
                }
            });

            // 2. First Linear + bias + ReLU into the float hidden rows.
            var items1 = WorkItems(start, hiddenDim);
            ForEach(items1.Length, item =>
            {
                var (expert, c0, count) = items1[item];
                var w = _experts[expert];
                Gemm(ws.Input[expert], _up[expert], c0, count, (r, acc) => ExpertRuntime.Dequantize(
                    acc, ws.Scale1[start[expert] + r], w.UpScale!.AsSpan(c0, count), w.UpBias.AsSpan(c0, count),
                    ws.HiddenFloat.AsSpan((start[expert] + r) * hiddenDim + c0, count), relu: true));
            });

            // 3. Requantize the hidden rows.
            ForEach((rows + RowChunk - 1) / RowChunk, chunk =>
            {
                sbyte[] q = ArrayPool<sbyte>.Shared.Rent(hiddenDim);
                try
                {
                    for (int row = chunk * RowChunk; row < Math.Min(rows, (chunk + 1) * RowChunk); row++)
                    {
                        int expert = ExpertOf(start, row);
                        var qs = q.AsSpan(0, hiddenDim);
                        ws.Scale2[row] = Int8Quantization.QuantizeRow(ws.HiddenFloat.AsSpan(row * hiddenDim, hiddenDim), qs);
                        ws.Hidden[expert].SetRow(row - start[expert], qs);
                    }
                }
                finally
                {
                    ArrayPool<sbyte>.Shared.Return(q);
                }
            });

            // 4. Second Linear + bias into the float output rows.
            var items2 = WorkItems(start, d);
            ForEach(items2.Length, item =>
            {
                var (expert, c0, count) = items2[item];
                var w = _experts[expert];
                Gemm(ws.Hidden[expert], _down[expert], c0, count, (r, acc) => ExpertRuntime.Dequantize(
                    acc, ws.Scale2[start[expert] + r], w.DownScale!.AsSpan(c0, count), w.DownBias.AsSpan(c0, count),
                    ws.Output.AsSpan((start[expert] + r) * d + c0, count), relu: false));
            });

            // 5. LayerNorm each row, then y = sum over slots (in order) of p * expert output.
            ForEach((tokens + RowChunk - 1) / RowChunk, chunk =>
            {
                for (int t = chunk * RowChunk; t < Math.Min(tokens, (chunk + 1) * RowChunk); t++)
                {
                    var y = result.Row(t);
                    for (int s = 0; s < k; s++)
                    {
                        int row = ws.RowOfSlot[t * k + s];
                        var o = ws.Output.AsSpan(row * d, d);
                        ExpertRuntime.LayerNormRow(_experts[slotExperts[t * k + s]], o);
                        AddScaled(y, slotWeights[t * k + s], o);
                    }
                }
            });
        }
        finally
        {
            _spare = ws;
        }
    }

    private void Gemm(PackedInt8Activations a, PackedInt8Matrix w, int c0, int count, Epilogue epilogue)
    {
        int m = a.Rows;
        int[] acc = ArrayPool<int>.Shared.Rent(m * count);
        try
        {
            _kernel.MultiplyColumns(a, w, c0, count, acc);
            for (int r = 0; r < m; r++)
            {
                epilogue(r, acc.AsSpan(r * count, count));
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(acc);
        }
    }

    private static (int Expert, int Start, int Count)[] WorkItems(int[] start, int columns)
    {
        var items = new List<(int, int, int)>();
        for (int i = 0; i + 1 < start.Length; i++)
        {
            if (start[i + 1] == start[i])
            {
                continue; // no token chose this expert: it does not run
            }
            for (int c0 = 0; c0 < columns; c0 += ColumnBlock)
            {
                items.Add((i, c0, Math.Min(ColumnBlock, columns - c0)));
            }
        }
        return [.. items];
    }

    private static int ExpertOf(int[] start, int row)
    {
        int i = 0;
        while (start[i + 1] <= row)
        {
            i++;
        }
        return i;
    }

    private static void AddScaled(Span<float> y, float w, ReadOnlySpan<float> o)
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

    private void ForEach(int count, Action<int> body)
    {
        if (_threads == 1 || count <= 1)
        {
            for (int i = 0; i < count; i++)
            {
                body(i);
            }
            return;
        }
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = _threads }, body);
    }

    /// <summary>Per-call buffers, kept between calls (one spare; concurrent calls allocate their own).</summary>
    private sealed class Workspace
    {
        public Workspace(int experts, Int8GemmKernel kernel)
        {
            Start = new int[experts + 1];
            Fill = new int[experts];
            Input = new PackedInt8Activations[experts];
            Hidden = new PackedInt8Activations[experts];
            for (int i = 0; i < experts; i++)
            {
                Input[i] = kernel.CreateActivations();
                Hidden[i] = kernel.CreateActivations();
            }
        }

        public int[] Start { get; }

        public int[] Fill { get; }

        public PackedInt8Activations[] Input { get; }

        public PackedInt8Activations[] Hidden { get; }

        public int[] SlotOfRow { get; private set; } = [];

        public int[] RowOfSlot { get; private set; } = [];

        public float[] Scale1 { get; private set; } = [];

        public float[] Scale2 { get; private set; } = [];

        public float[] HiddenFloat { get; private set; } = [];

        public float[] Output { get; private set; } = [];

        public void Ensure(int rows, int hiddenDim, int outputDim)
        {
            if (SlotOfRow.Length < rows)
            {
                SlotOfRow = new int[rows];
                RowOfSlot = new int[rows];
                Scale1 = new float[rows];
                Scale2 = new float[rows];
            }
            if (HiddenFloat.Length < (long)rows * hiddenDim)
            {
                HiddenFloat = new float[checked(rows * hiddenDim)];
            }
            if (Output.Length < (long)rows * outputDim)
            {
                Output = new float[checked(rows * outputDim)];
            }
        }
    }
}
