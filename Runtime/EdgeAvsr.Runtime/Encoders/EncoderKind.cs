using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Onnx;

namespace EdgeAvsr.Runtime.Encoders;

/// <summary>Which of Llama-SMoP's encoders an ONNX model is, told by its input signature.</summary>
public enum EncoderKind
{
    /// <summary>
    /// Whisper encoder: <c>input_features</c> float32 [1, 80, 3000] -> [1, 1500, D], 50 states per second; an encoder
    /// trained on a shorter window takes [1, 80, F] -> [1, F / 2, D].
    /// </summary>
    Audio,

    /// <summary>AV-HuBERT encoder: <c>video</c> float32 [1, 1, T, 88, 88] -> [1, T, D], one state per 25 fps frame.</summary>
    Video,
}
