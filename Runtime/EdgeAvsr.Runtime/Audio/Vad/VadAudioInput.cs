using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Runtime.Audio.Vad;

/// <summary>
/// Audio for the VAD: any file the audio front-end reads (WAV natively, anything else through ffmpeg; mixed to mono and
/// resampled to 16 kHz by <see cref="Resampler"/>), or a .npy float32 vector already at 16 kHz.
/// </summary>
public static class VadAudioInput
{
    public static float[] Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
        {
            var a = NpyFile.ReadFloat32(path);
            if (a.Shape.Length != 1 && !(a.Shape.Length == 2 && a.Shape[0] == 1))
            {
                throw new EdgeAvsrException($"{path}: shape {TensorDTypes.FormatShape(a.Shape)}; expected 16 kHz mono samples [N] or [1, N]");
            }
            return a.Data.Length > 0 ? a.Data : throw new EdgeAvsrException($"{path}: no audio samples (zero-length audio)");
        }
        return Resampler.To(AudioLoader.Load(path), VadOptions.SampleRate).Samples;
    }
}
