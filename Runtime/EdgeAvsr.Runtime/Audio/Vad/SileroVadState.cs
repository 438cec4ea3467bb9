using EdgeAvsr.Runtime.Onnx;

namespace EdgeAvsr.Runtime.Audio.Vad;

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
