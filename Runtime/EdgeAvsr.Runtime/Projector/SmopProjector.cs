using System.Buffers;
using System.Runtime.CompilerServices;
using EdgeAvsr.Runtime.Projector.Kernels;

namespace EdgeAvsr.Runtime.Projector;

/// <summary>
/// The Sparse Mixture of Projectors (the authors' <c>Top_K_MoE</c>): <c>p = softmax(router(x))</c> over all
/// experts in float32, the top-k renormalised, <c>y = sum p_e * expert_e(x)</c>. Tokens are grouped by
/// expert; each expert runs one GEMM over only the tokens routed to it; results are scaled and
/// scattered back. float32: work items are (expert, block of its tokens), spread over threads; INT8: one
/// pipeline per mixture with (expert, block of output channels) items (see <see cref="Int8Mixture"/>); INT8 on
/// <see cref="ProjectorDevice.Cuda"/>: router and experts on the GPU (see <see cref="CudaMixture"/>).
/// </summary>
public sealed class SmopProjector
{
    private readonly MixtureRuntime? _audio;
    private readonly MixtureRuntime? _video;
    private readonly int _threads;
    private readonly TokenBufferPool _tokenBuffers = new();

    private SmopProjector(SmopWeights weights, SmopOptions options, MixtureRuntime? audio, MixtureRuntime? video, string kernelName, int threads)
    {
        Weights = weights;
        Options = options;
        _audio = audio;
        _video = video;
        _threads = threads;
        KernelName = kernelName;
    }

    public SmopWeights Weights { get; }

    public SmopOptions Options { get; }

    public SmopLayout Layout => Weights.Layout;

    /// <summary>The GEMM kernel variant in use.</summary>
    public string KernelName { get; }

    public int OutputDim => (_audio ?? _video)!.Weights.OutputDim;

    public int? InputDim(Modality modality) => (modality == Modality.Audio ? _audio : _video)?.Weights.InputDim;

    public static SmopProjector Create(SmopWeights weights, SmopOptions options)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Routing);
        // Under DEDR each modality has its own router, so the expert counts may differ: k must fit the smaller.
        foreach (var mixture in new[] { weights.Audio, weights.Video })
        {
            if (mixture is not null)
            {
                options.Routing.CheckFits(mixture.ExpertCount, mixture.Name);
            }
        }
        var source = options.Precision == ProjectorPrecision.Int8 ? weights.ToInt8() : weights;
        if (options.Precision == ProjectorPrecision.Fp32 && weights.IsInt8)
        {
            throw new EdgeAvsrException("precision", name => $"the weights are an INT8 projector file; run them with {name} int8");
        }
        string kernelName;
        Func<MixtureWeights, MixtureRuntime> build;
        int threads = ThreadCount.Resolve(options.Threads);
        if (options.Device == ProjectorDevice.Cuda)
        {
            if (options.Precision != ProjectorPrecision.Int8)
            {
                throw new EdgeAvsrException("device", name => $"{name} cuda runs the INT8 projector; these weights run in {options.Precision.ToText()}");
            }
            kernelName = $"cuda ({Interop.SmopCudaLibrary.RequireDevice().Description})";
            build = m => new MixtureRuntime(m, [], null, new CudaMixture(m));
        }
        else if (options.Precision == ProjectorPrecision.Int8)
        {
            var k = options.Int8Kernel ?? KernelRegistry.SelectInt8();
            kernelName = k.ToString();
            build = m => new MixtureRuntime(m, [], new Int8Mixture([.. m.Experts], k, threads));
        }
        else
        {
            var k = options.Fp32Kernel ?? KernelRegistry.SelectFp32();
            kernelName = k.ToString();
            build = m => new MixtureRuntime(m, [.. m.Experts.Select(e => new Fp32ExpertRuntime(e, k))], null);
        }
        var audio = source.Audio is null ? null : build(source.Audio);
        var video = source.Video is null ? null
            : ReferenceEquals(source.Video, source.Audio) ? audio
            : build(source.Video);
        return new SmopProjector(source, options, audio, video, kernelName, threads);
    }

    /// <summary>Pools and projects encoder outputs (<c>[T, D]</c> each; either may be null).</summary>
    public ProjectorOutput Project(FloatMatrix? audioFrames, FloatMatrix? videoFrames)
    {
        if (audioFrames is null && videoFrames is null)
        {
            throw new EdgeAvsrException("nothing to project: give audio features, video features or both");
        }
        var audio = audioFrames is null ? null : Pool(Modality.Audio, audioFrames, _audio, Options.Routing.AudioPool);
        var video = videoFrames is null ? null : Pool(Modality.Video, videoFrames, _video, Options.Routing.VideoPool);
        var rows = new Dictionary<string, long[]>(StringComparer.Ordinal);
        ModalityTokens? audioOut = null, videoOut = null;
        if (Layout == SmopLayout.Jejr && audio is not null && video is not null)
        {
            // One router and one expert pool over the audio tokens followed by the video tokens.
            var joint = new FloatMatrix(audio.Rows + video.Rows, audio.Columns);
            audio.Data.CopyTo(joint.Data, 0);
            video.Data.CopyTo(joint.Data, audio.Data.Length);
            var result = Run(_audio!, joint, rows);
            audioOut = Slice(Modality.Audio, result, 0, audio.Rows);
            videoOut = Slice(Modality.Video, result, audio.Rows, video.Rows);
        }
        else
        {
            if (audio is not null)
            {
                audioOut = Tag(Modality.Audio, Run(_audio!, audio, rows));
            }
            if (video is not null)
            {
                videoOut = Tag(Modality.Video, Run(_video!, video, rows));
            }
        }
        return new ProjectorOutput(audioOut, videoOut, rows);
    }

    /// <summary>
    /// Hands the token matrices of <paramref name="output"/> back for later calls of this projector to write into; the
    /// caller must not read them afterwards. A stream of same-length calls then reuses memory that is already mapped:
    /// a fresh 6 MB result (750 tokens x 2048) costs ~1500 first-touch page faults, about 16 ms per call on the
    /// development VM, a third of the INT8 projector's own time.
    /// </summary>
    public void Recycle(ProjectorOutput output)
    {
        ArgumentNullException.ThrowIfNull(output);
        foreach (var tokens in new[] { output.Audio, output.Video })
        {
            if (tokens is not null)
            {
                _tokenBuffers.Give(tokens.Tokens.Data);
            }
        }
    }

    /// <summary>Throws <see cref="EdgeAvsrException"/> unless this projector takes <paramref name="modality"/> features <paramref name="width"/>
    /// wide.</summary>
    public void CheckInput(Modality modality, int width) => CheckInput(modality, width, modality == Modality.Audio ? _audio : _video);

    private static void CheckInput(Modality modality, int width, MixtureRuntime? mixture)
    {
        string name = modality.ToText();
        if (mixture is null)
        {
            throw new EdgeAvsrException($"the projector weights have no {name} projector; this model cannot take {name} input");
        }
        if (width != mixture.Weights.InputDim)
        {
            throw new EdgeAvsrException($"{name} features have D={width}, the {mixture.Weights.Name} weights expect D={mixture.Weights.InputDim}");
        }
    }

    private static FloatMatrix Pool(Modality modality, FloatMatrix frames, MixtureRuntime? mixture, int window)
    {
        CheckInput(modality, frames.Columns, mixture);
        string name = modality.ToText();
        if (frames.Rows < window)
        {
            throw new EdgeAvsrException($"{name} features have {frames.Rows} frames, fewer than the pooling window of {window}: nothing to project");
        }
        return TemporalPooling.Average(frames, window);
    }

    private static ModalityTokens Tag(Modality modality, ModalityTokens t) => t with { Modality = modality };

    private static ModalityTokens Slice(Modality modality, ModalityTokens t, int start, int count)
    {
        int d = t.Tokens.Columns, k = t.TopK;
        var tokens = new FloatMatrix(t.Tokens.Data.AsSpan(start * d, count * d).ToArray(), count, d);
        return new ModalityTokens(modality, tokens, t.Experts.AsSpan(start * k, count * k).ToArray(), t.Weights.AsSpan(start * k, count * k).ToArray(), k);
    }

    private ModalityTokens Run(MixtureRuntime mixture, FloatMatrix x, Dictionary<string, long[]> rowCounts)
    {
        int tokens = x.Rows, k = Options.Routing.TopK, d = mixture.Weights.OutputDim, e = mixture.Weights.ExpertCount;
        if (!rowCounts.TryGetValue(mixture.Weights.Name, out long[]? counts))
        {
            counts = new long[e];
            rowCounts[mixture.Weights.Name] = counts;
        }
        if (mixture.Cuda is not null)
        {
            // The device routes too: the counts are the rows its GEMMs computed.
            var (slotExperts, slotWeights) = (new int[tokens * k], new float[tokens * k]);
            var result = NewTokens(tokens, d);
            mixture.Cuda.Run(x, k, slotExperts, slotWeights, routingGiven: false, counts, result);
            return new ModalityTokens(Modality.Audio, result, slotExperts, slotWeights, k);
        }
        var (experts, weights) = Route(mixture.Weights, x, k);

        if (mixture.Int8 is not null)
        {
            var result = NewTokens(tokens, d);
            mixture.Int8.Run(x, experts, weights, k, counts, result);
            return new ModalityTokens(Modality.Audio, result, experts, weights, k);
        }

        // Group (token, slot) pairs by expert, in token order: expert i's slots are slotOfRow[start[i] .. start[i+1]-1].
        var start = new int[e + 1];
        var slotOfRow = new int[experts.Length];
        ExpertGrouping.Group(experts, start, slotOfRow, new int[experts.Length]);
        var items = new List<(int Expert, int Start, int Count)>();
        int block = Math.Max(1, Options.RowBlock);
        for (int i = 0; i < e; i++)
        {
            for (int row = start[i]; row < start[i + 1]; row += block)
            {
                items.Add((i, row, Math.Min(block, start[i + 1] - row)));
            }
        }

        // Each (token, slot) gets its expert's output; summed in slot order afterwards, so the result
        // does not depend on thread scheduling.
        float[] slotOutputs = ArrayPool<float>.Shared.Rent(checked(tokens * k * d));
        try
        {
            RunItems(mixture, x, slotOfRow, items, counts, slotOutputs, k, d);
            return Combine(NewTokens(tokens, d), slotOutputs, experts, weights, k);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(slotOutputs);
        }
    }

    private void RunItems(MixtureRuntime mixture, FloatMatrix x, int[] slotOfRow, List<(int Expert, int Start, int Count)> items, long[] counts,
        float[] slotOutputs, int k, int d)
    {
        int next = 0;
        WorkerGang.Shared.Run(Math.Min(_threads, items.Count), _ =>
        {
            int idx;
            while ((idx = Interlocked.Increment(ref next) - 1) < items.Count)
            {
                RunItem(mixture, x, slotOfRow, items[idx], counts, slotOutputs, k, d);
            }
        });
    }

    private static void RunItem(MixtureRuntime mixture, FloatMatrix x, int[] slotOfRow, (int Expert, int Start, int Count) item, long[] counts,
        float[] slotOutputs, int k, int d)
    {
        var (expert, start, count) = item;
        var runtime = mixture.Experts[expert];
        int din = mixture.Weights.InputDim;
        float[] input = ArrayPool<float>.Shared.Rent(count * din);
        float[] output = ArrayPool<float>.Shared.Rent(count * d);
        try
        {
            for (int r = 0; r < count; r++)
            {
                int token = slotOfRow[start + r] / k;
                x.Row(token).CopyTo(input.AsSpan(r * din, din));
            }
            runtime.Run(input.AsSpan(0, count * din), count, output.AsSpan(0, count * d));
            for (int r = 0; r < count; r++)
            {
                output.AsSpan(r * d, d).CopyTo(slotOutputs.AsSpan(slotOfRow[start + r] * d, d));
            }
            Interlocked.Add(ref counts[expert], count);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(input);
            ArrayPool<float>.Shared.Return(output);
        }
    }

    /// <summary>A zeroed <c>[tokens, d]</c> result, in a recycled array when one of that size was handed back.</summary>
    private FloatMatrix NewTokens(int tokens, int d) => new(_tokenBuffers.TakeZeroed(checked(tokens * d)), tokens, d);

    private static ModalityTokens Combine(FloatMatrix result, float[] slotOutputs, int[] experts, float[] weights, int k)
    {
        int tokens = result.Rows, d = result.Columns;
        for (int t = 0; t < tokens; t++)
        {
            var y = result.Row(t);
            for (int s = 0; s < k; s++)
            {
                float w = weights[t * k + s];
                ExpertRuntime.AddScaled(y, w, slotOutputs.AsSpan((t * k + s) * d, d));
            }
        }
        return new ModalityTokens(Modality.Audio, result, experts, weights, k);
    }

    /// <summary>
    /// Router in float32: logits, softmax over all experts, top-k (ties to the lower index), renormalised.
    /// Slots are ordered by descending probability.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static (int[] Experts, float[] Weights) Route(MixtureWeights mixture, FloatMatrix x, int k)
    {
        int e = mixture.ExpertCount, din = mixture.InputDim;
        var experts = new int[x.Rows * k];
        var weights = new float[x.Rows * k];
        Span<float> p = stackalloc float[e];
        Span<bool> taken = stackalloc bool[e];
        for (int t = 0; t < x.Rows; t++)
        {
            var row = x.Row(t);
            float max = float.NegativeInfinity;
            for (int i = 0; i < e; i++)
            {
                p[i] = Dot(row, mixture.Router.AsSpan(i * din, din));
                max = MathF.Max(max, p[i]);
            }
            float sum = 0;
            for (int i = 0; i < e; i++)
            {
                p[i] = MathF.Exp(p[i] - max);
                sum += p[i];
            }
            for (int i = 0; i < e; i++)
            {
                p[i] /= sum;
            }
            taken.Clear();
            float chosen = 0;
            for (int s = 0; s < k; s++)
            {
                int best = -1;
                for (int i = 0; i < e; i++)
                {
                    if (!taken[i] && (best < 0 || p[i] > p[best]))
                    {
                        best = i;
                    }
                }
                taken[best] = true;
                experts[t * k + s] = best;
                weights[t * k + s] = p[best];
                chosen += p[best];
            }
            for (int s = 0; s < k; s++)
            {
                weights[t * k + s] /= chosen;
            }
        }
        return (experts, weights);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var va = System.Runtime.InteropServices.MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(a);
        var vb = System.Runtime.InteropServices.MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(b);
        var acc = System.Numerics.Vector<float>.Zero;
        for (int i = 0; i < va.Length; i++)
        {
            acc += va[i] * vb[i];
        }
        float sum = System.Numerics.Vector.Sum(acc);
        for (int i = va.Length * System.Numerics.Vector<float>.Count; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }
        return sum;
    }

    /// <summary>A mixture's experts: float32 ones run per (expert, row block) item, INT8 ones as one pipeline, or all on the GPU.</summary>
    private sealed class MixtureRuntime(MixtureWeights weights, ExpertRuntime[] experts, Int8Mixture? int8, CudaMixture? cuda = null)
    {
        public MixtureWeights Weights { get; } = weights;

        public ExpertRuntime[] Experts { get; } = experts;

        public Int8Mixture? Int8 { get; } = int8;

        public CudaMixture? Cuda { get; } = cuda;
    }
}
