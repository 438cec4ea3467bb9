using System.Buffers;
using System.Runtime.CompilerServices;
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
/// Each expert's steps form a chain of small work items; a worker claims the next item of any chain whose
/// inputs are complete (an expert's requantization waits only for that expert's first Linear), starting
/// from its own share of the experts and moving on to the others' when its chains are done or blocked. So a
/// worker waits only when no expert has runnable work, and there is one join per call rather than a barrier
/// per step. That matters on a shared machine, where every barrier waits for the slowest, possibly
/// descheduled, thread.
/// Buffers live in a workspace reused across calls. The per-row loops (here, in <see cref="ExpertRuntime"/>, the
/// quantizer and the kernels) are marked <see cref="MethodImplOptions.AggressiveOptimization"/>: under tiered JIT
/// their tier-0 code made the first few dozen calls up to 1.5x slower, and a kiosk's first utterances are those calls.
/// </summary>
internal sealed class Int8Mixture
{
    /// <summary>Output channels per GEMM work item (a multiple of the 16-channel weight panels of every kernel).</summary>
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
        TouchPages(result.Data);
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

    /// <summary>One call's state: the grouping, the work lists and the completion counters.</summary>
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

        // Per expert: its chain of items (quantize input, first Linear blocks, requantize, second Linear
        // blocks), the next unclaimed index, and how many items of each step are done.
        private readonly Item[][] _chains;
        private readonly int[] _chainNext;
        private readonly int[] _stepTotal;
        private readonly int[] _stepDone;
        private readonly int _combineItems;
        private readonly int _chainItems;
        private int _chainDone;
        private int _combineNext;
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
            ExpertGrouping.Group(slotExperts.AsSpan(0, rows), start, ws.SlotOfRow, ws.RowOfSlot);
            for (int i = 0; i < e; i++)
            {
                counts[i] += start[i + 1] - start[i];
            }

            // The chains: an expert no token chose has none (it does not run).
            _chains = new Item[e][];
            _chainNext = new int[e];
            _stepTotal = new int[e * 4];
            _stepDone = new int[e * 4];
            var chain = new List<Item>();
            for (int i = 0; i < e; i++)
            {
                int n = start[i + 1] - start[i];
                ws.Input[i].Resize(n, _din);
                ws.Hidden[i].Resize(n, _hidden);
                chain.Clear();
                if (n > 0)
                {
                    for (int r = start[i]; r < start[i + 1]; r += RowChunk)
                    {
                        chain.Add(new Item(Step.QuantizeInput, i, r, Math.Min(RowChunk, start[i + 1] - r)));
                    }
                    for (int c0 = 0; c0 < _hidden; c0 += ColumnBlock)
                    {
                        chain.Add(new Item(Step.Up, i, c0, Math.Min(ColumnBlock, _hidden - c0)));
                    }
                    for (int r = start[i]; r < start[i + 1]; r += RowChunk)
                    {
                        chain.Add(new Item(Step.QuantizeHidden, i, r, Math.Min(RowChunk, start[i + 1] - r)));
                    }
                    for (int c0 = 0; c0 < _d; c0 += ColumnBlock)
                    {
                        chain.Add(new Item(Step.Down, i, c0, Math.Min(ColumnBlock, _d - c0)));
                    }
                }
                foreach (var item in chain)
                {
                    _stepTotal[i * 4 + (int)item.Step]++;
                }
                _chains[i] = [.. chain];
                _chainItems += chain.Count;
            }
            _combineItems = (tokens + RowChunk - 1) / RowChunk;
        }

        public void Execute()
        {
            int workers = Math.Min(_owner._threads, _chainItems);
            WorkerGang.Shared.Run(workers, w => Work(w, workers));
        }

        /// <summary>
        /// Worker <paramref name="worker"/> of <paramref name="workers"/>: starts on its own share of the experts and
        /// claims the next item of the first chain whose next item can run (its step's inputs are complete), so
        /// a worker never waits while any expert has runnable work; then the combine items, once every chain is done.
        /// </summary>
        private void Work(int worker, int workers)
        {
            try
            {
                int e = _chains.Length;
                int home = worker * e / workers;
                var spin = default(SpinWait);
                while (Volatile.Read(ref _chainDone) < _chainItems)
                {
                    bool ran = false;
                    for (int j = 0; j < e && !ran; j++)
                    {
                        ran = TryRunNext((home + j) % e);
                    }
                    if (ran)
                    {
                        spin = default;
                    }
                    else
                    {
                        Wait(ref spin);
                    }
                }
                int c;
                while ((c = Interlocked.Increment(ref _combineNext) - 1) < _combineItems)
                {
                    int firstToken = c * RowChunk;
                    Combine(firstToken, Math.Min(RowChunk, _x.Rows - firstToken));
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                _failed = true;
                throw;
            }
        }

        private bool TryRunNext(int e)
        {
            var chain = _chains[e];
            while (true)
            {
                int next = Volatile.Read(ref _chainNext[e]);
                if (next >= chain.Length)
                {
                    return false;
                }
                var item = chain[next];
                if (!Ready(item))
                {
                    return false;
                }
                if (Interlocked.CompareExchange(ref _chainNext[e], next + 1, next) == next)
                {
                    Run(item);
                    Interlocked.Increment(ref _stepDone[e * 4 + (int)item.Step]);
                    Interlocked.Increment(ref _chainDone);
                    return true;
                }
            }
        }

        /// <summary>Whether every item the step reads is complete: the previous step of the same expert.</summary>
        private bool Ready(Item item)
        {
            int i = item.Expert * 4 + (int)item.Step;
            return item.Step == Step.QuantizeInput || Volatile.Read(ref _stepDone[i - 1]) == _stepTotal[i - 1];
        }

        private void Run(Item item)
        {
            switch (item.Step)
            {
                case Step.QuantizeInput:
                    QuantizeRows(item.Start, item.Count, item.Expert, input: true);
                    break;
                case Step.Up:
                    Up(item.Expert, item.Start, item.Count);
                    break;
                case Step.QuantizeHidden:
                    QuantizeRows(item.Start, item.Count, item.Expert, input: false);
                    break;
                default:
                    Down(item.Expert, item.Start, item.Count);
                    break;
            }
        }

        private void Wait(ref SpinWait spin)
        {
            if (_failed)
            {
                throw new OperationCanceledException("another projector work item failed");
            }
            spin.SpinOnce();
        }

        /// <summary>Rows <c>[first, first + count)</c> of the row space, all of expert <paramref name="e"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
            Linear(_ws.Input[e], _owner._up[e], _ws.Start[e], c0, count, _ws.Scale1, w.UpScale!, w.UpBias, _ws.HiddenFloat, _hidden, relu: true);
        }

        private void Down(int e, int c0, int count)
        {
            var w = _owner._experts[e];
            Linear(_ws.Hidden[e], _owner._down[e], _ws.Start[e], c0, count, _ws.Scale2, w.DownScale!, w.DownBias, _ws.Output, _d, relu: false);
        }

        /// <summary>
        /// Output channels <c>[c0, c0 + count)</c> of one expert's Linear for all its rows (starting at row
        /// <paramref name="rowBase"/> of the row space): int32 GEMM, then dequantise with the row and channel scales, bias, ReLU if asked.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Linear(PackedInt8Activations input, PackedInt8Matrix weights, int rowBase, int c0, int count, float[] rowScales,
            float[] channelScales, float[] bias, float[] output, int width, bool relu)
        {
            var acc = Multiply(input, weights, c0, count);
            try
            {
                for (int r = 0; r < input.Rows; r++)
                {
                    ExpertRuntime.Dequantize(acc.AsSpan(r * count, count), rowScales[rowBase + r], channelScales.AsSpan(c0, count), bias.AsSpan(c0, count),
                        output.AsSpan((rowBase + r) * width + c0, count), relu);
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
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
                    ExpertRuntime.AddScaled(y, _slotWeights[slot], o);
                }
            }
        }
    }

    /// <summary>
    /// Writes one zero per 4 KiB page of a new (zeroed) result on this thread. A large new array is usually fresh
    /// memory from the OS; when the workers took its first-touch page faults together they contended in the kernel
    /// (750 tokens, 6 MB of result: the combine step took 3 ms with the pages touched here, 15-20 ms per worker without).
    /// </summary>
    private static void TouchPages(float[] data)
    {
        const int floatsPerPage = 4096 / sizeof(float);
        for (int i = 0; i < data.Length; i += floatsPerPage)
        {
            data[i] = 0;
        }
    }

    /// <summary>Per-call buffers, kept between calls (one spare; concurrent calls allocate their own).</summary>
    private sealed class Workspace
    {
        public Workspace(int experts, Int8GemmKernel kernel)
        {
            Start = new int[experts + 1];
            Input = new PackedInt8Activations[experts];
            Hidden = new PackedInt8Activations[experts];
            for (int i = 0; i < experts; i++)
            {
                Input[i] = kernel.CreateActivations();
                Hidden[i] = kernel.CreateActivations();
            }
        }

        public int[] Start { get; }

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
