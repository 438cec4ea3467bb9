using System.Buffers.Binary;
using System.Text;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Runtime.Audio.Vad;

/// <summary>
/// The VAD's own minimal input path: 16 kHz mono audio as a WAV (PCM 16-bit or IEEE float 32-bit) or a .npy float32
/// vector. Anything else (other rates, channels, codecs) is refused with a message; decoding and resampling belong
/// to the audio front-end (<c>edgeavsr features</c>).
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
            return RequireSamples(path, a.Data);
        }
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EdgeAvsrException($"{path}: cannot read: {e.Message}");
        }
        return RequireSamples(path, ReadWav(path, bytes));
    }

    private static float[] RequireSamples(string path, float[] samples) =>
        samples.Length > 0 ? samples : throw new EdgeAvsrException($"{path}: no audio samples (zero-length audio)");

    private static float[] ReadWav(string path, byte[] b)
    {
        if (b.Length < 12 || Encoding.ASCII.GetString(b, 0, 4) != "RIFF" || Encoding.ASCII.GetString(b, 8, 4) != "WAVE")
        {
            throw new EdgeAvsrException($"{path}: not a WAV file (RIFF/WAVE header missing); the VAD reads 16 kHz mono WAV or .npy");
        }
        int format = 0, channels = 0, rate = 0, bits = 0;
        long pos = 12;
        while (pos + 8 <= b.Length)
        {
            string id = Encoding.ASCII.GetString(b, (int)pos, 4);
            long size = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan((int)pos + 4));
            long body = pos + 8;
            if (id == "fmt ")
            {
                if (size < 16 || body + 16 > b.Length)
                {
                    throw new EdgeAvsrException($"{path}: WAV fmt chunk is truncated");
                }
                format = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan((int)body));
                channels = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan((int)body + 2));
                rate = BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan((int)body + 4));
                bits = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan((int)body + 14));
                if (format == 0xFFFE && size >= 40 && body + 26 <= b.Length)
                {
                    format = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan((int)body + 24)); // WAVE_FORMAT_EXTENSIBLE sub-format
                }
            }
            else if (id == "data")
            {
                if (format == 0)
                {
                    throw new EdgeAvsrException($"{path}: WAV data chunk before its fmt chunk");
                }
                if (channels != 1 || rate != VadOptions.SampleRate || !((format == 1 && bits == 16) || (format == 3 && bits == 32)))
                {
                    throw new EdgeAvsrException($"{path}: WAV is {rate} Hz, {channels} channel(s), format {format}/{bits}-bit; the VAD reads 16 kHz mono PCM16 or float32 (convert with the audio front-end, or sox -r 16000 -c 1 -b 16)");
                }
                long available = Math.Min(size, b.Length - body);
                int bytesPerSample = bits / 8;
                var samples = new float[available / bytesPerSample];
                for (int i = 0; i < samples.Length; i++)
                {
                    var s = b.AsSpan((int)(body + (long)i * bytesPerSample));
                    samples[i] = format == 1 ? BinaryPrimitives.ReadInt16LittleEndian(s) / 32768f : BinaryPrimitives.ReadSingleLittleEndian(s);
                }
                return samples;
            }
            pos = body + size + (size & 1);
        }
        throw new EdgeAvsrException($"{path}: WAV has no data chunk");
    }
}
