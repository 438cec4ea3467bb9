using EdgeAvsr.Quantize.Pack;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Encoders;
using EdgeAvsr.Runtime.Onnx;
using EdgeAvsr.Runtime.Pack;

namespace EdgeAvsr.Quantize.Onnx;

/// <summary>
/// <see cref="EncoderQuantizer"/> on calibration media: the encoder's kind is read from its input (as the runtime
/// opens it), the media go through the runtime's own front-ends with the pack's settings when a pack is given
/// (waveform normalisation, log-mel window), else the Whisper / AV-HuBERT defaults (no normalisation, the model's window).
/// </summary>
public static class EncoderMediaQuantizer
{
    public static EncoderQuantizeReport Quantize(string modelPath, string mediaDirectory, string? packDirectory, string outputPath,
        EncoderQuantizeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(modelPath);
        options ??= new EncoderQuantizeOptions();
        var frontEnd = packDirectory is null ? null : ModelPack.Open(packDirectory).Manifest.FrontEnd;
        EncoderKind kind;
        string inputName;
        int window;
        using (var encoder = EncoderSession.Open(modelPath, new OnnxSessionOptions { Providers = [ExecutionProvider.Cpu], IntraOpThreads = 1 }))
        {
            kind = encoder.Kind;
            inputName = encoder.Input.Name;
            window = encoder.AudioWindowFrames;
        }
        if (kind == EncoderKind.Audio && frontEnd is not null && window != frontEnd.MelFrames)
        {
            throw new EdgeAvsrException($"{modelPath}: the audio encoder takes {window} log-mel frames, the pack {packDirectory} says " +
                $"front_end.mel_frames {frontEnd.MelFrames}");
        }
        var (inputs, source) = CalibrationMedia.EncoderInputs(mediaDirectory, kind, frontEnd?.WaveformNormalization ?? false, window);
        var calibration = inputs.Select(t => (IReadOnlyDictionary<string, OnnxTensor>)new Dictionary<string, OnnxTensor> { [inputName] = t }).ToList();
        return EncoderQuantizer.Quantize(modelPath, calibration, source, outputPath, options);
    }
}
