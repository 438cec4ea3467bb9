using EdgeAvsr.Runtime.Interop;

namespace EdgeAvsr.Runtime.Projector;

/// <summary>
/// One INT8 mixture on the GPU (libsmop_cuda.so): router, grouping, both int8 GEMMs over the routed rows only, LayerNorm
/// and the weighted sum, in one call. The weights are copied to the device once, here.
/// </summary>
internal sealed unsafe class CudaMixture : IDisposable
{
    private readonly Lock _gate = new();
    private nint _handle;

    public CudaMixture(MixtureWeights mixture)
    {
        ArgumentNullException.ThrowIfNull(mixture);
        var experts = mixture.Experts;
        if (!experts[0].IsInt8)
        {
            throw new ArgumentException("the CUDA projector runs INT8 weights", nameof(mixture));
        }
        SmopCudaLibrary.RequireDevice();
        ExpertCount = experts.Length;
        InputDim = experts[0].InputDim;
        HiddenDim = experts[0].HiddenDim;
        OutputDim = experts[0].OutputDim;
        var up = Concat(experts, e => e.UpInt8!);
        var down = Concat(experts, e => e.DownInt8!);
        var upScale = Concat(experts, e => e.UpScale!);
        var upBias = Concat(experts, e => e.UpBias);
        var downScale = Concat(experts, e => e.DownScale!);
        var downBias = Concat(experts, e => e.DownBias);
        var normWeight = Concat(experts, e => e.NormWeight);
        var normBias = Concat(experts, e => e.NormBias);
        fixed (float* router = mixture.Router, us = upScale, ub = upBias, ds = downScale, db = downBias, nw = normWeight, nb = normBias)
        fixed (sbyte* uw = up, dw = down)
        {
            var desc = new SmopCudaNative.MixtureDesc
            {
                Experts = ExpertCount,
                InputDim = InputDim,
                HiddenDim = HiddenDim,
                OutputDim = OutputDim,
                Router = router,
                UpWeight = uw,
                UpScale = us,
                UpBias = ub,
                DownWeight = dw,
                DownScale = ds,
                DownBias = db,
                NormWeight = nw,
                NormBias = nb,
            };
            nint handle;
            Check(SmopCudaNative.MixtureCreate(&desc, &handle), mixture.Name);
            _handle = handle;
        }
    }

    public int ExpertCount { get; }

    public int InputDim { get; }

    public int HiddenDim { get; }

    public int OutputDim { get; }

    /// <summary>
    /// Projects <paramref name="x"/> (<c>[T, D]</c>) into <paramref name="result"/> (<c>[T, d_llm]</c>). With
    /// <paramref name="routingGiven"/> the slots are inputs, otherwise the device's router fills them. Adds the rows the
    /// device's GEMMs computed per expert to <paramref name="counts"/>. The accumulator spans, when not empty, receive the
    /// int32 accumulators of both GEMMs in the grouped row order (<see cref="ExpertGrouping"/>).
    /// </summary>
    public void Run(FloatMatrix x, int k, int[] slotExperts, float[] slotWeights, bool routingGiven, long[] counts, FloatMatrix result,
        Span<int> upAccumulators = default, Span<int> downAccumulators = default)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(result);
        int rows = checked(x.Rows * k);
        if (x.Columns != InputDim || result.Rows != x.Rows || result.Columns != OutputDim || slotExperts.Length < rows
            || slotWeights.Length < rows || counts.Length < ExpertCount
            || (!upAccumulators.IsEmpty && upAccumulators.Length < (long)rows * HiddenDim)
            || (!downAccumulators.IsEmpty && downAccumulators.Length < (long)rows * OutputDim))
        {
            throw new ArgumentException($"CUDA projector: buffers do not fit [{x.Rows} x {x.Columns}] tokens, top-{k}, D={InputDim}, d={OutputDim}");
        }
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_handle == 0, this);
            fixed (float* tokens = x.Data, weights = slotWeights, output = result.Data)
            fixed (int* experts = slotExperts, upAcc = upAccumulators, downAcc = downAccumulators)
            fixed (long* rowCounts = counts)
            {
                var args = new SmopCudaNative.RunArgs
                {
                    Tokens = tokens,
                    TokenCount = x.Rows,
                    TopK = k,
                    RoutingGiven = routingGiven ? 1 : 0,
                    SlotExperts = experts,
                    SlotWeights = weights,
                    Result = output,
                    RowsComputed = rowCounts,
                    UpAccumulators = upAccumulators.IsEmpty ? null : upAcc,
                    DownAccumulators = downAccumulators.IsEmpty ? null : downAcc,
                };
                Check(SmopCudaNative.MixtureRun(_handle, &args), "run");
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_handle != 0)
            {
                SmopCudaNative.MixtureDestroy(_handle);
                _handle = 0;
            }
        }
    }

    private static void Check(int status, string what)
    {
        if (status != SmopCudaNative.Ok)
        {
            throw new EdgeAvsrException($"CUDA projector ({what}): {SmopCudaLibrary.LastError()}");
        }
    }

    private static T[] Concat<T>(ExpertWeights[] experts, Func<ExpertWeights, T[]> part) => [.. experts.SelectMany(part)];
}
