using System.Runtime.InteropServices;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Runtime.Interop.Onnx;

/// <summary>
/// One ONNX Runtime inference session over our own binding of the C API: created from a model file with the
/// execution providers in the caller's order, its inputs and outputs read from the model, and <see cref="Run"/>
/// over tensors in pinned managed memory. Thread-safe for concurrent <see cref="Run"/> calls (ORT guarantees it); a
/// <see cref="Dispose"/> meanwhile frees the native session only when the Runs inside ORT have returned.
/// </summary>
public sealed unsafe class OnnxSession : IDisposable
{
    private readonly OrtSessionHandle _session;

    private OnnxSession(string source, OrtSessionHandle session, IReadOnlyList<ExecutionProvider> providers, IReadOnlyList<string> providerLog,
        OnnxNodeInfo[] inputs, OnnxNodeInfo[] outputs)
    {
        Source = source;
        _session = session;
        Providers = providers;
        ProviderLog = providerLog;
        Inputs = inputs;
        Outputs = outputs;
    }

    /// <summary>The model file (or "(memory)").</summary>
    public string Source { get; }

    /// <summary>The first listed provider that ORT accepted: the one that runs every node it supports.</summary>
    public ExecutionProvider Provider => Providers[0];

    /// <summary>Every listed provider ORT accepted, in priority order.</summary>
    public IReadOnlyList<ExecutionProvider> Providers { get; }

    /// <summary>What happened to each provider tried, in order.</summary>
    public IReadOnlyList<string> ProviderLog { get; }

    public IReadOnlyList<OnnxNodeInfo> Inputs { get; }

    public IReadOnlyList<OnnxNodeInfo> Outputs { get; }

    /// <summary>ORT's providers compiled into the loaded library (not necessarily usable: their libraries may be absent).</summary>
    public static IReadOnlyList<string> AvailableProviders() => OrtApi.GetAvailableProviders();

    /// <summary>
    /// Loads <paramref name="modelPath"/>. A missing file or one ORT cannot parse is an <see cref="EdgeAvsrException"/>
    /// naming the file and quoting ORT; so is a provider list none of whose providers can be used.
    /// </summary>
    public static OnnxSession Create(string modelPath, OnnxSessionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(modelPath);
        if (!File.Exists(modelPath))
        {
            throw new EdgeAvsrException($"{modelPath}: model file not found");
        }
        return CreateCore(modelPath, options ?? new OnnxSessionOptions(), (env, so) => OrtApi.CreateSession(env, Path.GetFullPath(modelPath), so));
    }

    /// <summary>Creates a session from a serialized model in memory.</summary>
    public static OnnxSession Create(ReadOnlyMemory<byte> model, OnnxSessionOptions? options = null) =>
        CreateCore("(memory)", options ?? new OnnxSessionOptions(), (env, so) => OrtApi.CreateSessionFromArray(env, model.Span, so));

    /// <summary>
    /// Makes a session with <paramref name="create"/> and reads its inputs and outputs with <paramref name="readNodes"/>
    /// (default: from ORT; tests pass one that fails).
    /// </summary>
    internal static OnnxSession CreateCore(string source, OnnxSessionOptions options, Func<OrtEnvHandle, OrtSessionOptionsHandle, nint> create,
        Func<OrtSessionHandle, bool, OnnxNodeInfo[]>? readNodes = null)
    {
        var env = OrtEnvironment.Shared.Env;
        using var so = new OrtSessionOptionsHandle(OrtApi.CreateSessionOptions());
        if (options.IntraOpThreads < 0 || options.InterOpThreads < 0)
        {
            throw new EdgeAvsrException("thread counts must be >= 0 (0 = ORT's default)");
        }
        if (options.IntraOpThreads > 0)
        {
            OrtApi.SetIntOption(OrtSlot.SetIntraOpNumThreads, so, options.IntraOpThreads, "SetIntraOpNumThreads");
        }
        if (options.InterOpThreads > 0)
        {
            OrtApi.SetIntOption(OrtSlot.SetInterOpNumThreads, so, options.InterOpThreads, "SetInterOpNumThreads");
        }
        const int GraphOptimizationAll = 99;
        OrtApi.SetIntOption(OrtSlot.SetSessionGraphOptimizationLevel, so, GraphOptimizationAll, "SetSessionGraphOptimizationLevel");
        foreach (var (key, value) in options.ConfigEntries)
        {
            try
            {
                OrtApi.AddSessionConfigEntry(so, key, value);
            }
            catch (OnnxRuntimeException e)
            {
                throw new EdgeAvsrException($"session config entry '{key}' = '{value}' rejected by ONNX Runtime: {e.OrtMessage}", e);
            }
        }

        var (accepted, log) = AppendProviders(so, options);
        nint handle;
        try
        {
            handle = create(env, so);
        }
        catch (OnnxRuntimeException e)
        {
            throw new EdgeAvsrException($"{source}: ONNX Runtime cannot load this model ({e.Code}): {e.OrtMessage}", e);
        }
        var session = new OrtSessionHandle(handle);
        try
        {
            readNodes ??= ReadNodes;
            return new OnnxSession(source, session, accepted, log, readNodes(session, true), readNodes(session, false));
        }
        catch
        {
            // No OnnxSession owns the native session yet, so nobody else would release it.
            session.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Appends every listed provider, in the listed order (ORT gives each node to the first provider that takes it,
    /// so a later provider only runs what an earlier one cannot). A provider that cannot be appended is logged with
    /// ORT's reason and skipped; the rest are used only because they are listed. Without "cpu" in the list ORT's
    /// implicit CPU fallback for unsupported nodes is switched off, so nothing runs on the CPU unasked. No accepted
    /// provider is an error.
    /// </summary>
    private static (IReadOnlyList<ExecutionProvider> Accepted, IReadOnlyList<string> Log) AppendProviders(OrtSessionOptionsHandle so, OnnxSessionOptions options)
    {
        if (options.Providers.Count == 0)
        {
            throw new EdgeAvsrException("no execution provider listed (e.g. tensorrt,cuda,cpu)");
        }
        var log = new List<string>();
        void Note(string line)
        {
            log.Add(line);
            options.Log?.Invoke(line);
        }
        string listed = string.Join(",", options.Providers.Select(p => p.ToText()));
        var accepted = new List<ExecutionProvider>();
        foreach (var p in options.Providers)
        {
            try
            {
                if (p == ExecutionProvider.TensorRt)
                {
                    var kv = options.TensorRt.ToKeyValues();
                    OrtApi.AppendTensorRt(so, kv.Select(x => x.Key).ToArray(), kv.Select(x => x.Value).ToArray());
                }
                else if (p == ExecutionProvider.Cuda)
                {
                    var kv = options.Cuda.ToKeyValues();
                    OrtApi.AppendCuda(so, kv.Select(x => x.Key).ToArray(), kv.Select(x => x.Value).ToArray());
                }
                accepted.Add(p); // the CPU provider is always present in ORT; listing it allows its use
            }
            catch (OnnxRuntimeException e)
            {
                Note($"execution provider {p.ToText()} unavailable: {e.OrtMessage.ReplaceLineEndings(" ").Trim()} ({e.Function}, {e.Code})");
            }
        }
        if (accepted.Count == 0)
        {
            throw new EdgeAvsrException($"none of the execution providers listed ({listed}) can be used here: {string.Join("; ", log)}");
        }
        if (!accepted.Contains(ExecutionProvider.Cpu))
        {
            OrtApi.AddSessionConfigEntry(so, "session.disable_cpu_ep_fallback", "1");
        }
        string rest = accepted.Count > 1 ? $", then {string.Join(", ", accepted.Skip(1).Select(p => p.ToText()))} for nodes it does not take" : "";
        Note($"execution provider: {accepted[0].ToText()}{rest} (from --ep {listed})");
        return (accepted, log);
    }

    private static OnnxNodeInfo[] ReadNodes(OrtSessionHandle session, bool input)
    {
        int n = OrtApi.GetCount(session, input);
        var nodes = new OnnxNodeInfo[n];
        for (int i = 0; i < n; i++)
        {
            string name = OrtApi.GetName(session, input, i);
            var info = OrtApi.GetTypeInfo(session, input, i);
            nodes[i] = new OnnxNodeInfo(name, info?.Type ?? OnnxElementType.Undefined, info?.Shape ?? []);
        }
        return nodes;
    }

    /// <summary>
    /// Runs the model. Every model input must be given once, with the model's element type and rank and its
    /// fixed dimensions (an <see cref="EdgeAvsrException"/> names the input and the expected shape otherwise).
    /// Returns the requested outputs (default: all) in order. A failure inside ORT's Run is an
    /// <see cref="EdgeAvsrException"/> naming the model and quoting ORT.
    /// </summary>
    public IReadOnlyList<OnnxTensor> Run(IReadOnlyDictionary<string, OnnxTensor> inputs, IReadOnlyList<string>? outputNames = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ObjectDisposedException.ThrowIf(_session.IsClosed, this);
        foreach (string name in inputs.Keys)
        {
            if (!Inputs.Any(i => i.Name == name))
            {
                throw new EdgeAvsrException($"{Source}: the model has no input '{name}'; its inputs are {string.Join(", ", Inputs.Select(i => i.Describe()))}");
            }
        }
        foreach (var node in Inputs)
        {
            if (!inputs.TryGetValue(node.Name, out var t))
            {
                throw new EdgeAvsrException($"{Source}: input {node.Describe()} was not given");
            }
            CheckShape(node, t);
        }
        var outputs = outputNames ?? Outputs.Select(o => o.Name).ToArray();
        foreach (string name in outputs)
        {
            if (!Outputs.Any(o => o.Name == name))
            {
                throw new EdgeAvsrException($"{Source}: the model has no output '{name}'; its outputs are {string.Join(", ", Outputs.Select(o => o.Describe()))}");
            }
        }

        var ordered = Inputs.Select(i => (i.Name, Tensor: inputs[i.Name])).ToArray();
        var pins = new GCHandle[ordered.Length];
        var values = new OrtValueHandle[ordered.Length];
        var outValues = new nint[outputs.Count];
        using var inNames = new Utf8Array(ordered.Select(o => o.Name).ToArray());
        using var outNames = new Utf8Array(outputs);
        try
        {
            var memory = OrtEnvironment.Shared.CpuMemory;
            for (int i = 0; i < ordered.Length; i++)
            {
                var t = ordered[i].Tensor;
                pins[i] = GCHandle.Alloc(t.Data, GCHandleType.Pinned);
                long bytes = (long)t.Data.Length * t.ElementSize;
                values[i] = new OrtValueHandle(OrtApi.CreateTensorWithData(memory, (void*)pins[i].AddrOfPinnedObject(), bytes, t.Shape, t.ElementType));
            }
            fixed (nint* outs = outValues)
            {
                try
                {
                    OrtApi.Run(_session, inNames.Pointers, values, outNames.Pointers, outputs.Count, outs);
                }
                catch (OnnxRuntimeException e)
                {
                    // Names, types and fixed dimensions were checked above, so what ORT still refuses is this model
                    // on these inputs (a node that cannot take the shapes, an unusable provider): the user's to fix.
                    throw new EdgeAvsrException($"{Source}: ONNX Runtime cannot run this model on these inputs ({e.Code}): {e.OrtMessage}", e);
                }
            }
            var result = new OnnxTensor[outputs.Count];
            for (int i = 0; i < outValues.Length; i++)
            {
                result[i] = CopyOut(outValues[i]);
            }
            return result;
        }
        finally
        {
            foreach (nint v in outValues)
            {
                if (v != 0)
                {
                    OrtApi.Release(OrtSlot.ReleaseValue, v);
                }
            }
            foreach (var v in values)
            {
                v?.Dispose();
            }
            foreach (var p in pins)
            {
                if (p.IsAllocated)
                {
                    p.Free();
                }
            }
        }
    }

    private void CheckShape(OnnxNodeInfo node, OnnxTensor t)
    {
        bool ok = node.ElementType == t.ElementType && node.Shape.Length == t.Shape.Length;
        for (int d = 0; ok && d < node.Shape.Length; d++)
        {
            ok = node.Shape[d] < 0 || node.Shape[d] == t.Shape[d];
        }
        if (!ok)
        {
            throw new EdgeAvsrException($"{Source}: input '{node.Name}' expects {node.ElementType.ToText()} {TensorDTypes.FormatShape(node.Shape)}, got {t.ElementType.ToText()} {TensorDTypes.FormatShape(t.Shape)}");
        }
    }

    private static OnnxTensor CopyOut(nint value)
    {
        var (type, shape) = OrtApi.GetValueTypeAndShape(value);
        var tensor = OnnxTensor.Allocate(type, shape);
        long bytes = (long)tensor.Data.Length * tensor.ElementSize;
        if (bytes == 0)
        {
            return tensor;
        }
        void* src = OrtApi.GetTensorData(value);
        var pin = GCHandle.Alloc(tensor.Data, GCHandleType.Pinned);
        try
        {
            Buffer.MemoryCopy(src, (void*)pin.AddrOfPinnedObject(), bytes, bytes);
        }
        finally
        {
            pin.Free();
        }
        return tensor;
    }

    public void Dispose() => _session.Dispose();
}
