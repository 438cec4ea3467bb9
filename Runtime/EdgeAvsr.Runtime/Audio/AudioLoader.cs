using System.Runtime.InteropServices;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Runtime.Audio;

/// <summary>
/// Reads any audio file to mono samples at its own rate: WAV natively (<see cref="WavReader"/>),
/// everything else (mp3, flac, m4a, the audio track of an mp4, ...) through <c>ffmpeg</c>, which
/// decodes to 32-bit float mono at the stream's native rate (resampling is ours, see <see cref="Resampler"/>).
/// </summary>
public static class AudioLoader
{
    public static AudioSignal Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new EdgeAvsrException($"{path}: audio file not found");
        }
        var signal = WavReader.LooksLikeWav(path) ? WavReader.Read(path) : Decode(path);
        if (signal.Samples.Length == 0)
        {
            throw new EdgeAvsrException($"{path}: the audio is empty (zero samples)");
        }
        return signal;
    }

    private static AudioSignal Decode(string path)
    {
        var probe = Ffmpeg.Probe(path, 'a', "sample_rate");
        int rate = Ffmpeg.ProbeInt(path, probe, "sample_rate");
        byte[] raw = Ffmpeg.Run("ffmpeg", path, ["-v", "error", "-nostdin", "-i", path, "-map", "0:a:0", "-vn", "-f", "f32le", "-acodec", "pcm_f32le", "-ac", "1", "-ar", rate.ToString(System.Globalization.CultureInfo.InvariantCulture), "pipe:1"]);
        if (raw.Length % 4 != 0)
        {
            throw new EdgeAvsrException($"{path}: ffmpeg returned {raw.Length} bytes, not whole float32 samples");
        }
        float[] samples = MemoryMarshal.Cast<byte, float>(raw).ToArray();
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("f32le decoding assumes a little-endian host");
        }
        return new AudioSignal(samples, rate);
    }
}
