using EdgeAvsr.Runtime.Onnx;

namespace EdgeAvsr.Runtime.Video;

/// <summary>
/// A face-landmark ONNX model meeting the contract in docs/landmark-model.md: input <c>image</c> float32
/// <c>[1, 1, H, W]</c> (grayscale in [0, 1]); outputs <c>landmarks</c> float32 <c>[1, 68, 2]</c> (x, y in input pixels)
/// and optionally <c>score</c> float32 <c>[1]</c> (a frame scoring below 0.5, or with a NaN landmark, has no face).
/// </summary>
public sealed class LandmarkModel : IDisposable
{
    public const string InputName = "image";
    public const string LandmarksName = "landmarks";
    public const string ScoreName = "score";
    public const float ScoreThreshold = 0.5f;

    private readonly OnnxSession _session;
    private readonly bool _hasScore;

    private LandmarkModel(OnnxSession session, bool hasScore)
    {
        _session = session;
        _hasScore = hasScore;
    }

    public string Source => _session.Source;

    /// <summary>The execution provider ORT accepted.</summary>
    public ExecutionProvider Provider => _session.Provider;

    /// <summary>Loads the model and checks its inputs and outputs against the contract.</summary>
    public static LandmarkModel Open(string path, OnnxSessionOptions? options = null)
    {
        var session = OnnxSession.Create(path, options);
        try
        {
            if (session.Inputs.Count != 1 || session.Inputs[0].Name != InputName || session.Inputs[0].ElementType != OnnxElementType.Float
                || session.Inputs[0].Shape.Length != 4 || session.Inputs[0].Shape[0] is not (1 or -1) || session.Inputs[0].Shape[1] is not (1 or -1))
            {
                throw new EdgeAvsrException($"{path}: a landmark model takes one input '{InputName}' float32 [1, 1, H, W]; this model takes " +
                    $"{string.Join(", ", session.Inputs.Select(i => i.Describe()))}");
            }
            var landmarks = session.Outputs.FirstOrDefault(o => o.Name == LandmarksName);
            if (landmarks is null || landmarks.ElementType != OnnxElementType.Float || landmarks.Shape.Length != 3
                || (landmarks.Shape[1] != MouthAlignment.LandmarkCount && landmarks.Shape[1] != -1) || landmarks.Shape[2] is not (2 or -1))
            {
                throw new EdgeAvsrException($"{path}: a landmark model outputs '{LandmarksName}' float32 [1, 68, 2]; this model outputs " +
                    $"{string.Join(", ", session.Outputs.Select(o => o.Describe()))}");
            }
            var score = session.Outputs.FirstOrDefault(o => o.Name == ScoreName);
            if (score is not null && score.ElementType != OnnxElementType.Float)
            {
                throw new EdgeAvsrException($"{path}: output '{ScoreName}' is {score.ElementType.ToText()}, expected float32 [1]");
            }
            return new LandmarkModel(session, score is not null);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Landmarks of every frame (null where the model found no face).</summary>
    public Point2[]?[] Detect(GrayFrames frames)
    {
        ArgumentNullException.ThrowIfNull(frames);
        var result = new Point2[]?[frames.Count];
        var image = new float[frames.Width * frames.Height];
        string[] outputs = _hasScore ? [LandmarksName, ScoreName] : [LandmarksName];
        for (int t = 0; t < frames.Count; t++)
        {
            var frame = frames.Frame(t);
            for (int i = 0; i < image.Length; i++)
            {
                image[i] = frame[i] / 255f;
            }
            var output = _session.Run(new Dictionary<string, OnnxTensor> { [InputName] = OnnxTensor.Float(image, 1, 1, frames.Height, frames.Width) }, outputs);
            var points = output[0].Floats;
            if (points.Length != MouthAlignment.LandmarkCount * 2)
            {
                throw new EdgeAvsrException($"{Source}: '{LandmarksName}' has {points.Length} values for frame {t}, expected 68 x 2");
            }
            if (_hasScore && !(output[1].Floats.Length >= 1 && output[1].Floats[0] >= ScoreThreshold))
            {
                continue;
            }
            var landmarks = new Point2[MouthAlignment.LandmarkCount];
            bool finite = true;
            for (int i = 0; i < landmarks.Length; i++)
            {
                landmarks[i] = new Point2(points[2 * i], points[2 * i + 1]);
                finite &= float.IsFinite(points[2 * i]) && float.IsFinite(points[2 * i + 1]);
            }
            result[t] = finite ? landmarks : null;
        }
        return result;
    }

    public void Dispose() => _session.Dispose();
}
