using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Onnx;

namespace EdgeAvsr.Runtime.Encoders;

/// <summary>
/// An audio or video encoder on ONNX Runtime. The model must have exactly one float32 input, named and shaped as
/// <see cref="EncoderKind"/> documents (dynamic dimensions allowed where the shape is fixed here), and one float32
/// output of rank 3; anything else is an <see cref="EdgeAvsrException"/> naming the model, the input and what was expected.
/// </summary>
public sealed class EncoderSession : IDisposable
{
    public const string AudioInputName = "input_features";
    public const string VideoInputName = "video";
    public const int MelBins = 80;
    /// <summary>Whisper's window: 3000 log-mel frames (30 s); the default <see cref="AudioWindowFrames"/>.</summary>
    public const int MelFrames = 3000;
    public const int AudioStates = 1500;
    public const int AudioStatesPerSecond = 50;
    public const int MinAudioStates = 25;
    public const int RoiSize = 88;

    private readonly OnnxSession _session;

    private EncoderSession(OnnxSession session, EncoderKind kind, int audioWindowFrames)
    {
        _session = session;
        Kind = kind;
        AudioWindowFrames = audioWindowFrames;
    }

    public EncoderKind Kind { get; }

    /// <summary>Log-mel frames an audio encoder takes (its input's last dimension); 0 for a video encoder.</summary>
    public int AudioWindowFrames { get; }

    public string ModelPath => _session.Source;

    public ExecutionProvider Provider => _session.Provider;

    public IReadOnlyList<string> ProviderLog => _session.ProviderLog;

    public OnnxNodeInfo Input => _session.Inputs[0];

    public OnnxNodeInfo Output => _session.Outputs[0];

    /// <summary>
    /// Opens <paramref name="modelPath"/> and checks that it is one of the two encoders. An audio encoder's window is
    /// <paramref name="melFrames"/> when given (a model with another fixed width is refused), else the model's fixed
    /// width, else Whisper's 3000.
    /// </summary>
    public static EncoderSession Open(string modelPath, OnnxSessionOptions? options = null, int? melFrames = null)
    {
        if (melFrames is < 1 or > MelFrames)
        {
            throw new EdgeAvsrException($"{modelPath}: a log-mel window of {melFrames} frames; expected 1 to {MelFrames}");
        }
        var session = OnnxSession.Create(modelPath, options);
        try
        {
            var kind = Classify(modelPath, session);
            int window = 0;
            if (kind == EncoderKind.Audio)
            {
                long modelFrames = session.Inputs[0].Shape[2];
                if (melFrames is int asked && modelFrames >= 0 && modelFrames != asked)
                {
                    throw new EdgeAvsrException($"{modelPath}: input '{AudioInputName}' takes {modelFrames} log-mel frames, " +
                        $"the pack's front_end.mel_frames is {asked}");
                }
                window = melFrames ?? (modelFrames > 0 ? checked((int)modelFrames) : MelFrames);
                if (window > MelFrames)
                {
                    throw new EdgeAvsrException($"{modelPath}: input '{AudioInputName}' takes {window} log-mel frames; at most {MelFrames} (30 s)");
                }
            }
            return new EncoderSession(session, kind, window);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    private static EncoderKind Classify(string path, OnnxSession s)
    {
        const string expected = $"an audio encoder input '{AudioInputName}' float32 [1, 80, 3000] (or [1, 80, F] for a shorter window) " +
            $"or a video encoder input '{VideoInputName}' float32 [1, 1, T, 88, 88]";
        if (s.Inputs.Count != 1)
        {
            throw new EdgeAvsrException($"{path}: the model has {s.Inputs.Count} inputs ({string.Join(", ", s.Inputs.Select(i => i.Describe()))}); " +
                $"expected one: {expected}");
        }
        var input = s.Inputs[0];
        EncoderKind kind;
        if (input.Name == AudioInputName && input.ElementType == OnnxElementType.Float && Fits(input.Shape, [1, MelBins, -1]))
        {
            kind = EncoderKind.Audio;
        }
        else if (input.Name == VideoInputName && input.ElementType == OnnxElementType.Float && Fits(input.Shape, [1, 1, -1, RoiSize, RoiSize]))
        {
            kind = EncoderKind.Video;
        }
        else
        {
            throw new EdgeAvsrException($"{path}: input {input.Describe()} is not an encoder input; expected {expected}");
        }
        if (s.Outputs.Count < 1 || s.Outputs[0].ElementType != OnnxElementType.Float || s.Outputs[0].Shape.Length != 3)
        {
            throw new EdgeAvsrException($"{path}: output {(s.Outputs.Count > 0 ? s.Outputs[0].Describe() : "(none)")} is not an encoder output; " +
                "expected float32 [1, T, D]");
        }
        return kind;
    }

    // A model dimension of -1 is symbolic and accepts anything; an expected -1 accepts any model dimension.
    private static bool Fits(long[] model, long[] expected)
    {
        if (model.Length != expected.Length)
        {
            return false;
        }
        for (int i = 0; i < model.Length; i++)
        {
            if (model[i] >= 0 && expected[i] >= 0 && model[i] != expected[i])
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// Whisper states for a log-mel [80, F] (row-major, F = <see cref="AudioWindowFrames"/>), trimmed as the authors
    /// trim them: the first <c>max(int(seconds * 50), 25)</c> of F / 2 when <paramref name="seconds"/> is known, all otherwise.
    /// </summary>
    public FloatMatrix EncodeAudio(float[] logMel, double? seconds)
    {
        ArgumentNullException.ThrowIfNull(logMel);
        RequireKind(EncoderKind.Audio);
        int frames = AudioWindowFrames;
        if (logMel.Length != MelBins * frames)
        {
            throw new EdgeAvsrException($"{ModelPath}: log-mel has {logMel.Length} values, expected 80 x {frames} = {MelBins * frames}");
        }
        // A bad duration is refused before the encoder's run, the expensive part.
        int? kept = seconds is double s ? KeptAudioStates(s, Math.Max(frames / 2, 1)) : null;
        var states = RunSingle(OnnxTensor.Float(logMel, 1, MelBins, frames));
        int keep = kept ?? states.Rows;
        if (states.Rows < keep)
        {
            throw new EdgeAvsrException($"{ModelPath}: the encoder returned {states.Rows} states, {keep} needed for {seconds} s");
        }
        return keep == states.Rows ? states : new FloatMatrix(states.Data.AsSpan(0, keep * states.Columns).ToArray(), keep, states.Columns);
    }

    /// <summary><c>max(int(seconds * 50), 25)</c>, at most 1500 (30 s).</summary>
    public static int KeptAudioStates(double seconds) => KeptAudioStates(seconds, AudioStates);

    /// <summary><c>max(int(seconds * 50), 25)</c>, at most <paramref name="windowStates"/> (what the encoder returns).</summary>
    public static int KeptAudioStates(double seconds, int windowStates)
    {
        if (!double.IsFinite(seconds) || seconds < 0)
        {
            throw new EdgeAvsrException($"audio duration {seconds} s is not a non-negative number of seconds");
        }
        double n = Math.Floor(seconds * AudioStatesPerSecond);
        return (int)Math.Min(Math.Max(n, MinAudioStates), windowStates);
    }

    /// <summary>AV-HuBERT states for <paramref name="frames"/> mouth crops of 88x88 (row-major [T, 88, 88]): [T, D].</summary>
    public FloatMatrix EncodeVideo(float[] roi, int frames)
    {
        ArgumentNullException.ThrowIfNull(roi);
        RequireKind(EncoderKind.Video);
        if (frames <= 0 || roi.Length != (long)frames * RoiSize * RoiSize)
        {
            throw new EdgeAvsrException($"{ModelPath}: mouth crops hold {roi.Length} values, expected T x 88 x 88 with T >= 1");
        }
        var states = RunSingle(OnnxTensor.Float(roi, 1, 1, frames, RoiSize, RoiSize));
        if (states.Rows != frames)
        {
            throw new EdgeAvsrException($"{ModelPath}: the encoder returned {states.Rows} states for {frames} frames; expected one per frame");
        }
        return states;
    }

    private void RequireKind(EncoderKind kind)
    {
        if (Kind != kind)
        {
            throw new EdgeAvsrException($"{ModelPath} is a{(Kind == EncoderKind.Audio ? "n audio" : " video")} encoder; " +
                $"{(kind == EncoderKind.Audio ? "a log-mel" : "mouth crops")} cannot go into it");
        }
    }

    private FloatMatrix RunSingle(OnnxTensor input)
    {
        var output = _session.Run(new Dictionary<string, OnnxTensor> { [Input.Name] = input }, [Output.Name])[0];
        if (output.Shape.Length != 3 || output.Shape[0] != 1)
        {
            throw new EdgeAvsrException($"{ModelPath}: output '{Output.Name}' has shape {TensorDTypes.FormatShape(output.Shape)}, expected [1, T, D]");
        }
        return new FloatMatrix(output.Floats, checked((int)output.Shape[1]), checked((int)output.Shape[2]));
    }

    public void Dispose() => _session.Dispose();
}
