using System.Buffers;
using System.Numerics;
using System.Runtime.ExceptionServices;
using EdgeAvsr.Runtime.Projector.Kernels;

namespace EdgeAvsr.Runtime.Projector;

/// <summary>
/// The INT8 experts of one mixture (W8A8: weights int8 per output channel, activations int8 per token,
/// dynamic and symmetric, int32 accumulation, dequantised with <c>acc * s_token * s_channel + bias</c> in
/// float32), run as one pipeline over all routed rows of all experts:
/// <list type="number">
/// <item>quantize each routed token row straight into its expert's activation buffer;</item>
/// <item>first Linear: work items are (expert, block of <see cref="ColumnBlock"/> output channels), so the
/// cores share one expert's activations and each streams its own part of the weights, every weight byte
/// read once per call; the epilogue (dequantise, bias, ReLU) runs on each block while it is hot;</item>
/// <item>requantize the expert's hidden rows;</item>
/// <item>second Linear, same work items, epilogue dequantise + bias;</item>
/// <item>LayerNorm and the weighted top-k sum per token, slots summed in order (deterministic).</item>
/// </list>
/// All steps are work items of one list, in dependency order, taken by the workers one at a time; an item
/// waits only for the items it reads (an expert's second Linear waits for that expert's requantization, not
/// for every expert), so there is one join per call rather than a barrier per step. That matters on a
/// shared machine, where every barrier waits for the slowest, possibly descheduled, thread.
/// Buffers live in a workspace reused across calls.
/// </summary>
internal sealed class Int8Mixture
{
    /// <summary>Output channels per GEMM work item (a multiple of every kernel's panel width).</summary>
    public const int ColumnBlock = 64;

    private const int RowChunk = 32;

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

    private enum Step : byte
    {
        QuantizeInput,
        Up,
        QuantizeHidden,
        Down,
        Combine,
    }

    /// <summary>One work item: a step, its expert, and a row chunk or column block.</summary>
    private readonly record struct Item(Step Step, int Expert, int Start, int Count);

    /// <summary>
    /// Projects <paramref name="x"/> (<c>[T, D]</c>) with the routing <paramref name="slotExperts"/> /
    /// <paramref name="slotWeights"/> (<c>[T, k]</c>) into <paramref name="result"/> (<c>[T, d_llm]</c>, zeroed);
    /// adds each expert's row count to <paramref name="counts"/>.
    /// </summary>
    public void Run(FloatMatrix x, int[] slotExperts, float[] slotWeights, int k, long[] counts, FloatMatrix result)
    {
        var ws = Interlocked.Exchange(ref _spare, null) ?? new Workspace(_experts.Length, _kernel);
        try
        {
            var job = new Job(this, ws, x, slotExperts, slotWeights, k, counts, result);
            job.Execute();
        }
        finally
        {
            _spare = ws;
        }
    }

    /// <summary>One call's state: the grouping, the work list and the completion counters.</summary>
    private sealed class Job
    {
        private readonly Int8Mixture _owner;
        private readonly Workspace _ws;
        private readonly FloatMatrix _x;
        private readonly int[] _slotExperts;
        private readonly float[] _slotWeights;
        private readonly FloatMatrix _result;
        private readonly int _k;
        private readonly int _din;
        private readonly int _hidden;
        private readonly int _d;
        private readonly Item[] _items;
        private readonly int[] _inputChunks;
        private readonly int[] _hiddenChunks;
        private readonly int[] _inputDone;
        private readonly int[] _upDone;
        private readonly int[] _hiddenDone;
        private readonly int _upBlocks;
        private readonly int _downItems;
        private int _downDone;
        private int _next = -1;
        private volatile bool _failed;

        public Job(Int8Mixture owner, Workspace ws, FloatMatrix x, int[] slotExperts, float[] slotWeights, int k, long[] counts, FloatMatrix result)
        {
            _owner = owner;
            _ws = ws;
            _x = x;
            _slotExperts = slotExperts;
            _slotWeights = slotWeights;
            _result = result;
            _k = k;
            var first = owner._experts[0];
            _din = first.InputDim;
            _hidden = first.HiddenDim;
            _d = first.OutputDim;
            int e = owner._experts.Length, tokens = x.Rows, rows = tokens * k;

            // Group the (token, slot) pairs by expert, in token order: rows of expert i are
            // Start[i] .. Start[i+1]-1 of the row space; RowOfSlot maps each slot to its row.
            ws.Ensure(rows, _hidden, _d);
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

            // The work list, in dependency order.
            var items = new List<Item>();
            _inputChunks = new int[e];
            _hiddenChunks = new int[e];
            _inputDone = new int[e];
            _upDone = new int[e];
            _hiddenDone = new int[e];
            _upBlocks = (_hidden + ColumnBlock - 1) / ColumnBlock;
            for (int i = 0; i < e; i++)
            {
                int n = start[i + 1] - start[i];
                ws.Input[i].Resize(n, _din);
                ws.Hidden[i].Resize(n, _hidden);
                for (int r = 0; r < n; r += RowChunk, _inputChunks[i]++)
                {
                    items.Add(new Item(Step.QuantizeInput, i, start[i] + r, Math.Min(RowChunk, n - r)));
                }
            }
            for (int i = 0; i < e; i++)
            {
                if (start[i + 1] == start[i])
                {
                    continue; // no token chose this expert: it does not run
                }
                for (int c0 = 0; c0 < _hidden; c0 += ColumnBlock)
                {
                    items.Add(new Item(Step.Up, i, c0, Math.Min(ColumnBlock, _hidden - c0)));
                }
                for (int r = start[i]; r < start[i + 1]; r += RowChunk, _hiddenChunks[i]++)
                {
                    items.Add(new Item(Step.QuantizeHidden, i, r, Math.Min(RowChunk, start[i + 1] - r)));
                }
            }
            for (int i = 0; i < e; i++)
            {
                if (start[i + 1] == start[i])
                {
                    continue;
                }
                for (int c0 = 0; c0 < _d; c0 += ColumnBlock, _downItems++)
                {
                    items.Add(new Item(Step.Down, i, c0, Math.Min(ColumnBlock, _d - c0)));
                }
            }
            for (int t = 0; t < tokens; t += RowChunk)
            {
                items.Add(new Item(Step.Combine, 0, t, Math.Min(RowChunk, tokens - t)));
            }
            _items = [.. items];
        }

        public void Execute()
        {
            int workers = Math.Min(_owner._threads, _items.Length);
            if (workers <= 1)
            {
                Work();
                return;
            }
            try
            {
                Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, _ => Work());
            }
            catch (AggregateException ex)
            {
                // Rethrow the item's own failure, not the cancellations it caused in the other workers.
                var cause = ex.Flatten().InnerExceptions.FirstOrDefault(i => i is not OperationCanceledException) ?? ex.InnerExceptions[0];
                ExceptionDispatchInfo.Capture(cause).Throw();
            }
        }

        private void Work()
        {
            try
            {
                int i;
                while ((i = Interlocked.Increment(ref _next)) < _items.Length)
                {
                    var item = _items[i];
                    int e = item.Expert;
                    switch (item.Step)
                    {
                        case Step.QuantizeInput:
                            QuantizeRows(item.Start, item.Count, e, input: true);
                            Interlocked.Increment(ref _inputDone[e]);
                            break;
                        case Step.Up:
                            WaitFor(ref _inputDone[e], _inputChunks[e]);
                            Up(e, item.Start, item.Count);
                            Interlocked.Increment(ref _upDone[e]);
                            break;
                        case Step.QuantizeHidden:
                            WaitFor(ref _upDone[e], _upBlocks);
                            QuantizeRows(item.Start, item.Count, e, input: false);
                            Interlocked.Increment(ref _hiddenDone[e]);
                            break;
                        case Step.Down:
                            WaitFor(ref _hiddenDone[e], _hiddenChunks[e]);
                            Down(e, item.Start, item.Count);
                            Interlocked.Increment(ref _downDone);
                            break;
                        default:
                            WaitFor(ref _downDone, _downItems);
                            Combine(item.Start, item.Count);
                            break;
                    }
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                _failed = true;
                throw;
            }
        }

        private void WaitFor(ref int counter, int target)
        {
            var spin = default(SpinWait);
            while (Volatile.Read(ref counter) < target)
            {
                if (_failed)
                {
                    throw new OperationCanceledException("another projector work item failed");
                }
                spin.SpinOnce(sleep1Threshold: -1);
            }
        }

        /// <summary>Rows <c>[first, first + count)</c> of the row space, all of expert <paramref name="e"/>.</summary>
        private void QuantizeRows(int first, int count, int e, bool input)
        {
            int width = input ? _din : _hidden;
            var target = input ? _ws.Input[e] : _ws.Hidden[e];
            var scales = input ? _ws.Scale1 : _ws.Scale2;
            int rowBase = _ws.Start[e];
            sbyte[] q = ArrayPool<sbyte>.Shared.Rent(width);
            try
            {
                var qs = q.AsSpan(0, width);
                for (int row = first; row < first + count; row++)
                {
                    var source = input ? _x.Row(_ws.SlotOfRow[row] / _k) : _ws.HiddenFloat.AsSpan(row * _hidden, _hidden);
                    scales[row] = Int8Quantization.QuantizeRow(source, qs);
                    target.SetRow(row - rowBase, qs);
                }
            }
            finally
            {
                ArrayPool<sbyte>.Shared.Return(q);
            }
        }

        private void Up(int e, int c0, int count)
        {
            var w = _owner._experts[e];
            var acc = Multiply(_ws.Input[e], _owner._up[e], c0, count);
            try
            {
                int rowBase = _ws.Start[e];
                for (int r = 0; r < _ws.Input[e].Rows; r++)
                {
                    ExpertRuntime.Dequantize(acc.AsSpan(r * count, count), _ws.Scale1[rowBase + r], w.UpScale!.AsSpan(c0, count), w.UpBias.AsSpan(c0, count),
                        _ws.HiddenFloat.AsSpan((rowBase + r) * _hidden + c0, count), relu: true);
                }
            }
            finally
            {
                ArrayPool<int>.Shared.Return(acc);
            }
        }

        private void Down(int e, int c0, int count)
        {
            var w = _owner._experts[e];
            var acc = Multiply(_ws.Hidden[e], _owner._down[e], c0, count);
            try
            {
                int rowBase = _ws.Start[e];
                for (int r = 0; r < _ws.Hidden[e].Rows; r++)
                {
                    ExpertRuntime.Dequantize(acc.AsSpan(r * count, count), _ws.Scale2[rowBase + r], w.DownScale!.AsSpan(c0, count), w.DownBias.AsSpan(c0, count),
                        _ws.Output.AsSpan((rowBase + r) * _d + c0, count), relu: false);
                }
            }
            finally
            {
                ArrayPool<int>.Shared.Return(acc);
            }
        }

        private int[] Multiply(PackedInt8Activations a, PackedInt8Matrix w, int c0, int count)
        {
            int[] acc = ArrayPool<int>.Shared.Rent(a.Rows * count);
            _owner._kernel.MultiplyColumns(a, w, c0, count, acc);
            return acc;
        }

        /// <summary>LayerNorm each slot's row, then <c>y = sum over slots (in order) of p * expert output</c>.</summary>
        private void Combine(int firstToken, int count)
        {
            for (int t = firstToken; t < firstToken + count; t++)
            {
                var y = _result.Row(t);
                for (int s = 0; s < _k; s++)
                {
                    int slot = t * _k + s;
                    var o = _ws.Output.AsSpan(_ws.RowOfSlot[slot] * _d, _d);
                    ExpertRuntime.LayerNormRow(_owner._experts[_slotExperts[slot]], o);
                    AddScaled(y, _slotWeights[slot], o);
                }
            }
        }
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
