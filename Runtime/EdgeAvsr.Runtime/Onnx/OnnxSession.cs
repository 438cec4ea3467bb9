using EdgeAvsr.Runtime.Formats;
using Microsoft.ML.OnnxRuntime;

namespace EdgeAvsr.Runtime.Onnx;

/// <summary>
/// One ONNX Runtime inference session (the package's <see cref="InferenceSession"/>): created from a model file with
/// the execution providers in the caller's order, its inputs and outputs read from the model, and <see cref="Run"/>
/// over tensors in pinned managed memory. Thread-safe for concurrent <see cref="Run"/> calls (ORT guarantees it); a
/// <see cref="Dispose"/> meanwhile frees the native session only when the Runs inside ORT have returned (the package's
/// own Dispose frees it at once, under a running Run).
/// </summary>
public sealed class OnnxSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;

    // One reference for the owner plus one per Run inside ORT; the native session goes when it drops to 0.
    private int _references = 1;
    private int _disposed;

    private OnnxSession(string source, InferenceSession session, IReadOnlyList<ExecutionProvider> providers, IReadOnlyList<string> providerLog,
        OnnxNodeInfo[] inputs, OnnxNodeInfo[] outputs)
    {
        Source = source;
        _session = session;
        _runOptions = new RunOptions();
        Providers = providers;
        ProviderLog = providerLog;
        Inputs = inputs;
        Outputs = outputs;
        _inputNames = [.. inputs.Select(i => i.Name)];
        _outputNames = [.. outputs.Select(o => o.Name)];
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
    public static IReadOnlyList<string> AvailableProviders() => OnnxRuntimeEnvironment.Env.GetAvailableProviders();

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
        string full = Path.GetFullPath(modelPath);
        return CreateCore(modelPath, options ?? new OnnxSessionOptions(), so => new InferenceSession(full, so));
    }

    /// <summary>Creates a session from a serialized model in memory.</summary>
    public static OnnxSession Create(ReadOnlyMemory<byte> model, OnnxSessionOptions? options = null) =>
        CreateCore("(memory)", options ?? new OnnxSessionOptions(), so => new InferenceSession(model.ToArray(), so));

    /// <summary>
    /// Makes a session with <paramref name="create"/> and reads its inputs and outputs with <paramref name="readNodes"/>
    /// (default: from the session's metadata; tests pass one that fails).
    /// </summary>
    internal static OnnxSession CreateCore(string source, OnnxSessionOptions options, Func<SessionOptions, InferenceSession> create,
        Func<InferenceSession, bool, OnnxNodeInfo[]>? readNodes = null)
    {
        if (options.IntraOpThreads < 0 || options.InterOpThreads < 0)
        {
            throw new EdgeAvsrException("thread counts must be >= 0 (0 = ORT's default)");
        }
        _ = OnnxRuntimeEnvironment.Env; // the library, its version check and the logger come first
        using var so = new SessionOptions();
        if (options.IntraOpThreads > 0)
        {
            so.IntraOpNumThreads = options.IntraOpThreads;
        }
        if (options.InterOpThreads > 0)
        {
            so.InterOpNumThreads = options.InterOpThreads;
        }
        so.GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL;
        if (options.OptimizedModelPath is not null)
        {
            so.OptimizedModelFilePath = options.OptimizedModelPath;
        }
        foreach (var (key, value) in options.ConfigEntries)
        {
            try
            {
                so.AddSessionConfigEntry(key, value);
            }
            catch (OnnxRuntimeException e)
            {
                throw new EdgeAvsrException($"session config entry '{key}' = '{value}' rejected by ONNX Runtime: {OrtError.Of(e).Message}", e);
            }
        }

        var (accepted, log) = AppendProviders(so, options);
        InferenceSession session;
        try
        {
            session = create(so);
        }
        catch (OnnxRuntimeException e)
        {
            var ort = OrtError.Of(e);
            throw new EdgeAvsrException($"{source}: ONNX Runtime cannot load this model ({ort.Code}): {ort.Message}", e);
        }
        catch (KeyNotFoundException e)
        {
            throw OrtError.Unnamed(source, "load this model", e);
        }
        try
        {
            readNodes ??= ReadNodes;
            var opened = new OnnxSession(source, session, accepted, log, readNodes(session, true), readNodes(session, false));
            // Said once the session exists: a model that fails to load is one error line, not the provider notes before it.
            foreach (string line in log)
            {
                options.Log?.Invoke(line);
            }
            return opened;
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
    /// ORT's reason and skipped. Without "cpu" in the list ORT's implicit CPU fallback for unsupported nodes is
    /// switched off, so nothing runs on the CPU unasked. No accepted provider is an error.
    /// </summary>
    private static (IReadOnlyList<ExecutionProvider> Accepted, IReadOnlyList<string> Log) AppendProviders(SessionOptions so, OnnxSessionOptions options)
    {
        if (options.Providers.Count == 0)
        {
            throw new EdgeAvsrException("no execution provider listed (e.g. tensorrt,cuda,cpu)");
        }
        var log = new List<string>();
        void Note(string line) => log.Add(line);
        string listed = string.Join(",", options.Providers.Select(p => p.ToText()));
        var accepted = new List<ExecutionProvider>();
        foreach (var p in options.Providers)
        {
            string call = "";
            try
            {
                switch (p)
                {
                    case ExecutionProvider.TensorRt:
                        call = "AppendExecutionProvider_Tensorrt";
                        using (var trt = new OrtTensorRTProviderOptions())
                        {
                            trt.UpdateOptions(options.TensorRt.ToKeyValues().ToDictionary(kv => kv.Key, kv => kv.Value));
                            so.AppendExecutionProvider_Tensorrt(trt);
                        }
                        break;
                    case ExecutionProvider.Cuda:
                        call = "AppendExecutionProvider_CUDA";
                        using (var cuda = new OrtCUDAProviderOptions())
                        {
                            cuda.UpdateOptions(options.Cuda.ToKeyValues().ToDictionary(kv => kv.Key, kv => kv.Value));
                            so.AppendExecutionProvider_CUDA(cuda);
                        }
                        break;
                    default:
                        // Appended in its place, so a list that names cpu before a GPU provider runs on the CPU.
                        call = "AppendExecutionProvider_CPU";
                        so.AppendExecutionProvider_CPU();
                        break;
                }
                accepted.Add(p);
            }
            catch (OnnxRuntimeException e)
            {
                var ort = OrtError.Of(e);
                Note($"execution provider {p.ToText()} unavailable: {ort.Message.ReplaceLineEndings(" ").Trim()} ({call}, {ort.Code})");
            }
        }
        if (accepted.Count == 0)
        {
            throw new EdgeAvsrException($"none of the execution providers listed ({listed}) can be used here: {string.Join("; ", log)}");
        }
        if (!accepted.Contains(ExecutionProvider.Cpu))
        {
            so.AddSessionConfigEntry("session.disable_cpu_ep_fallback", "1");
        }
        string rest = accepted.Count > 1 ? $", then {string.Join(", ", accepted.Skip(1).Select(p => p.ToText()))} for nodes it does not take" : "";
        Note($"execution provider: {accepted[0].ToText()}{rest} (from {options.ProvidersName} {listed})");
        return (accepted, log);
    }

    private static OnnxNodeInfo[] ReadNodes(InferenceSession session, bool input)
    {
        var names = input ? session.InputNames : session.OutputNames;
        var metadata = input ? session.InputMetadata : session.OutputMetadata;
        var nodes = new OnnxNodeInfo[names.Count];
        for (int i = 0; i < nodes.Length; i++)
        {
            var m = metadata[names[i]];
            nodes[i] = m.OnnxValueType == OnnxValueType.ONNX_TYPE_TENSOR
                ? new OnnxNodeInfo(names[i], (OnnxElementType)(int)m.ElementDataType, [.. m.Dimensions.Select(d => (long)d)])
                : new OnnxNodeInfo(names[i], OnnxElementType.Undefined, []);
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
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
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
        var outputs = outputNames ?? _outputNames;
        var outputNodes = new OnnxNodeInfo[outputs.Count];
        for (int i = 0; i < outputs.Count; i++)
        {
            outputNodes[i] = Outputs.FirstOrDefault(o => o.Name == outputs[i])
                ?? throw new EdgeAvsrException(
                    $"{Source}: the model has no output '{outputs[i]}'; its outputs are {string.Join(", ", Outputs.Select(o => o.Describe()))}");
        }

        var inputValues = new OrtValue[Inputs.Count];
        OrtValue[]? outputValues = null;
        AddReference();
        try
        {
            for (int i = 0; i < inputValues.Length; i++)
            {
                inputValues[i] = Wrap(inputs[Inputs[i].Name]);
            }
            try
            {
                if (outputNodes.All(HasFixedShape))
                {
                    // Shapes known before the run: ORT writes the results straight into the arrays returned.
                    var results = outputNodes.Select(o => OnnxTensor.Allocate(o.ElementType, o.Shape)).ToArray();
                    outputValues = [.. results.Select(Wrap)];
                    _session.Run(_runOptions, _inputNames, inputValues, outputs, outputValues);
                    return results;
                }
                using var made = _session.Run(_runOptions, _inputNames, inputValues, outputs);
                return [.. made.Select(CopyOut)];
            }
            catch (OnnxRuntimeException e)
            {
                // Names, types and fixed dimensions were checked above, so what ORT still refuses is this model
                // on these inputs (a node that cannot take the shapes, an unusable provider): the user's to fix.
                var ort = OrtError.Of(e);
                throw new EdgeAvsrException($"{Source}: ONNX Runtime cannot run this model on these inputs ({ort.Code}): {ort.Message}", e);
            }
            catch (KeyNotFoundException e)
            {
                throw OrtError.Unnamed(Source, "run this model on these inputs", e);
            }
        }
        finally
        {
            foreach (var v in inputValues)
            {
                v?.Dispose();
            }
            foreach (var v in outputValues ?? [])
            {
                v.Dispose();
            }
            ReleaseReference();
        }
    }

    private static bool HasFixedShape(OnnxNodeInfo node) =>
        (node.ElementType is OnnxElementType.Float or OnnxElementType.Int64 or OnnxElementType.Int32) && node.Shape.All(d => d >= 0);

    /// <summary>An ORT tensor over the tensor's pinned array (no copy); the pin lasts until the value is disposed.</summary>
    private static OrtValue Wrap(OnnxTensor t) => t.Data switch
    {
        float[] f => OrtValue.CreateTensorValueFromMemory(f, t.Shape),
        long[] l => OrtValue.CreateTensorValueFromMemory(l, t.Shape),
        int[] n => OrtValue.CreateTensorValueFromMemory(n, t.Shape),
        _ => throw new InvalidOperationException($"unsupported element type {t.ElementType}"),
    };

    private void CheckShape(OnnxNodeInfo node, OnnxTensor t)
    {
        bool ok = node.ElementType == t.ElementType && node.Shape.Length == t.Shape.Length;
        for (int d = 0; ok && d < node.Shape.Length; d++)
        {
            ok = node.Shape[d] < 0 || node.Shape[d] == t.Shape[d];
        }
        if (!ok)
        {
            throw new EdgeAvsrException($"{Source}: input '{node.Name}' expects {node.ElementType.ToText()} {TensorDTypes.FormatShape(node.Shape)}, "
                + $"got {t.ElementType.ToText()} {TensorDTypes.FormatShape(t.Shape)}");
        }
    }

    /// <summary>An output ORT allocated (its shape depended on the inputs), copied once into a managed array.</summary>
    private OnnxTensor CopyOut(OrtValue value)
    {
        if (!value.IsTensor)
        {
            throw new EdgeAvsrException($"{Source}: a model output is a {value.OnnxType}, not a tensor");
        }
        var info = value.GetTensorTypeAndShape();
        var tensor = OnnxTensor.Allocate((OnnxElementType)(int)info.ElementDataType, info.Shape);
        switch (tensor.Data)
        {
            case float[] f:
                value.GetTensorDataAsSpan<float>().CopyTo(f);
                break;
            case long[] l:
                value.GetTensorDataAsSpan<long>().CopyTo(l);
                break;
            case int[] n:
                value.GetTensorDataAsSpan<int>().CopyTo(n);
                break;
        }
        return tensor;
    }

    private void AddReference()
    {
        while (true)
        {
            int n = Volatile.Read(ref _references);
            // At 0 the session is gone for good: never bring it back.
            ObjectDisposedException.ThrowIf(n == 0 || Volatile.Read(ref _disposed) != 0, this);
            if (Interlocked.CompareExchange(ref _references, n + 1, n) == n)
            {
                return;
            }
        }
    }

    private void ReleaseReference()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            _session.Dispose();
            _runOptions.Dispose();
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            ReleaseReference();
        }
    }
}
