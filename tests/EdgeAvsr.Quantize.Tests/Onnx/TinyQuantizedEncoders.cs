using EdgeAvsr.Quantize.Onnx;

namespace EdgeAvsr.Quantize.Tests.Onnx;

/// <summary>
/// Both tiny encoders exported by Models/encoders/export_encoder.py (seeded random weights, opset 17) and quantized once
/// by <see cref="EncoderMediaQuantizer"/> on three of the demo's clips (espeak-ng speech, mouth crops) through the runtime's front-ends.
/// </summary>
public sealed class TinyQuantizedEncoders : IDisposable
{
    private const string Script = "Models/encoders/export_encoder.py";
    private readonly TempDir _dir = new();

    public TinyQuantizedEncoders()
    {
        Python.Script(Script, "export", "--arch", "whisper", "--size", "tiny", "--seed", "3", "--out", Audio);
        Python.Script(Script, "export", "--arch", "avhubert", "--size", "tiny", "--seed", "4", "--out", Video);
        Directory.CreateDirectory(Media);
        foreach (string clip in Directory.GetFiles(Path.Combine(Tools.RepoRoot, "Models", "demo", "samples"), "*.mp4").Order(StringComparer.Ordinal).Take(3))
        {
            System.IO.File.Copy(clip, System.IO.Path.Combine(Media, System.IO.Path.GetFileName(clip)));
        }
        AudioReport = EncoderMediaQuantizer.Quantize(Audio, Media, null, AudioInt8, new EncoderQuantizeOptions { Threads = 1 });
        VideoReport = EncoderMediaQuantizer.Quantize(Video, Media, null, VideoInt8, new EncoderQuantizeOptions { Threads = 1 });
        VideoConvReport = EncoderMediaQuantizer.Quantize(Video, Media, null, VideoInt8Conv,
            new EncoderQuantizeOptions { Threads = 1, Operators = new HashSet<string> { "MatMul", "Gemm", "Conv" } });
    }

    public string Audio => File("audio.onnx");

    public string Video => File("video.onnx");

    public string AudioInt8 => File("audio.int8.onnx");

    public string VideoInt8 => File("video.int8.onnx");

    public string VideoInt8Conv => File("video.int8conv.onnx");

    public string Media => File("media");

    public EncoderQuantizeReport AudioReport { get; }

    public EncoderQuantizeReport VideoReport { get; }

    /// <summary>The video encoder with its convolutions quantized too (what TensorRT runs in INT8).</summary>
    public EncoderQuantizeReport VideoConvReport { get; }

    public string File(string name) => _dir.File(name);

    public void Dispose() => _dir.Dispose();
}
