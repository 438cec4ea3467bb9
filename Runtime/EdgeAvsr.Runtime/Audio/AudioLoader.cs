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
        AudioSignal? signal = null;
        if (!WavReader.LooksLikeWav(path) || !WavReader.TryRead(path, out signal, out _))
        {
            // Not a WAV, or a WAV holding another codec (a-law, ADPCM, ...): ffmpeg decodes it.
            signal = Decode(path);
        }
        if (signal!.Samples.Length == 0)
        {
            throw new EdgeAvsrException($"{path}: the audio is empty (zero samples)");
        }
        AudioSignal.RequireFinite(path, signal.Samples, 0, signal.SampleRate);
        return signal;
    }

    private static AudioSignal Decode(string path)
    {
        var (rate, channels) = Ffmpeg.Inspect(path).AudioFormat();
        // All channels at the native rate; the mix-down (as for WAV) and the resampling are ours.
        byte[] raw = Ffmpeg.Run("ffmpeg", path, ["-v", "error", "-nostdin", "-i", path, "-map", "0:a:0", "-vn", "-f", "f32le", "-acodec", "pcm_f32le",
            "-ar", rate.ToString(System.Globalization.CultureInfo.InvariantCulture), "pipe:1"]);
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("f32le decoding assumes a little-endian host");
        }
        if (raw.Length % (4 * channels) != 0)
        {
            throw new EdgeAvsrException($"{path}: ffmpeg returned {raw.Length} bytes, not whole frames of {channels} float32 samples");
        }
        return new AudioSignal(AudioSignal.AverageChannels(MemoryMarshal.Cast<byte, float>(raw), channels), rate);
    }
}
