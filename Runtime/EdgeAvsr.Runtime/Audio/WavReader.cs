using System.Buffers.Binary;

namespace EdgeAvsr.Runtime.Audio;

/// <summary>
/// RIFF/WAVE reader: PCM 8/16/24/32-bit integer and IEEE float 32/64-bit, plain or
/// <c>WAVE_FORMAT_EXTENSIBLE</c>, any channel count (mixed down to mono by averaging the channels).
/// Every chunk size is checked against the file; a truncated <c>data</c> chunk is an error, not a short read.
/// </summary>
public static class WavReader
{
    private const ushort FormatPcm = 1;
    private const ushort FormatFloat = 3;
    private const ushort FormatExtensible = 0xFFFE;

    /// <summary>True when the file starts with a RIFF/WAVE header (the reader's business); false for anything else.</summary>
    public static bool LooksLikeWav(string path)
    {
        Span<byte> head = stackalloc byte[12];
        try
        {
            using var s = File.OpenRead(path);
            if (s.ReadAtLeast(head, 12, throwOnEndOfStream: false) < 12)
            {
                return false;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EdgeAvsrException($"{path}: cannot read audio file: {e.Message}");
        }
        return head[..4].SequenceEqual("RIFF"u8) && head[8..12].SequenceEqual("WAVE"u8);
    }

    /// <summary>
    /// Reads a WAV file holding PCM or float samples; returns false (and the codec tag) for a well-formed WAV that holds
    /// another codec (a-law, mu-law, ADPCM, ...), which the caller hands to ffmpeg. Malformed files throw.
    /// </summary>
    public static bool TryRead(string path, out AudioSignal? signal, out ushort codecTag)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EdgeAvsrException($"{path}: cannot read audio file: {e.Message}");
        }
        return TryParse(path, bytes, out signal, out codecTag);
    }

    private static bool TryParse(string name, ReadOnlySpan<byte> bytes, out AudioSignal? signal, out ushort codecTag)
    {
        signal = null;
        codecTag = 0;
        if (bytes.Length < 12 || !bytes[..4].SequenceEqual("RIFF"u8) || !bytes[8..12].SequenceEqual("WAVE"u8))
        {
            throw new EdgeAvsrException($"{name}: not a WAV file (RIFF/WAVE header missing)");
        }
        Format? format = null;
        ReadOnlySpan<byte> data = default;
        bool haveData = false;
        int pos = 12;
        while (pos + 8 <= bytes.Length)
        {
            var id = bytes.Slice(pos, 4);
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(bytes[(pos + 4)..]);
            int body = pos + 8;
            long available = bytes.Length - body;
            if (id.SequenceEqual("data"u8))
            {
                // Streaming writers write an "unknown length" marker as the size of a data chunk they could not seek back to:
                // 0xFFFFFFFF (ffmpeg to a pipe), 0x7FFFF000 (sox to a pipe) or 0; the data runs to the end of the file.
                // A 0 followed by another chunk is an empty data chunk. Any other size past the end means a cut file.
                if (size is uint.MaxValue or SoxUnknownSize || (size == 0 && available > 0 && !StartsWithChunk(bytes[body..])))
                {
                    size = (uint)available;
                }
                if (size > available)
                {
                    throw new EdgeAvsrException($"{name}: WAV data chunk declares {size} bytes, the file holds {available} after it (truncated?)");
                }
                data = bytes.Slice(body, (int)size);
                haveData = true;
                break;
            }
            if (size > available)
            {
                throw new EdgeAvsrException($"{name}: WAV chunk '{ChunkName(id)}' declares {size} bytes, the file holds {available} after it (truncated?)");
            }
            if (id.SequenceEqual("fmt "u8))
            {
                format = ParseFormat(name, bytes.Slice(body, (int)size));
            }
            pos = body + (int)size + (int)(size & 1);
        }
        if (format is null)
        {
            throw new EdgeAvsrException($"{name}: WAV file has no 'fmt ' chunk before its data");
        }
        if (!haveData)
        {
            throw new EdgeAvsrException($"{name}: WAV file has no 'data' chunk (truncated?)");
        }
        var f = format.Value;
        codecTag = f.Tag;
        if (f.Tag is not (FormatPcm or FormatFloat))
        {
            return false;
        }
        int frameBytes = f.Channels * f.BitsPerSample / 8;
        if (data.Length % frameBytes != 0)
        {
            throw new EdgeAvsrException($"{name}: WAV data holds {data.Length} bytes, not a whole number of {frameBytes}-byte frames (truncated?)");
        }
        int frames = data.Length / frameBytes;
        var mono = new float[frames];
        Decode(data, f, mono);
        signal = new AudioSignal(mono, f.SampleRate);
        return true;
    }

    private const uint SoxUnknownSize = 0x7FFFF000;

    // Four printable ASCII bytes of a chunk id, then a size that fits in what follows.
    private static bool StartsWithChunk(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 8)
        {
            return false;
        }
        foreach (byte b in bytes[..4])
        {
            if (b is < 0x20 or > 0x7E)
            {
                return false;
            }
        }
        return BinaryPrimitives.ReadUInt32LittleEndian(bytes[4..]) <= (uint)(bytes.Length - 8);
    }

    private readonly record struct Format(ushort Tag, int Channels, int SampleRate, int BitsPerSample)
    {
        public bool IsFloat => Tag == FormatFloat;
    }

    private static Format ParseFormat(string name, ReadOnlySpan<byte> fmt)
    {
        if (fmt.Length < 16)
        {
            throw new EdgeAvsrException($"{name}: WAV 'fmt ' chunk is {fmt.Length} bytes, expected at least 16");
        }
        ushort tag = BinaryPrimitives.ReadUInt16LittleEndian(fmt);
        int channels = BinaryPrimitives.ReadUInt16LittleEndian(fmt[2..]);
        uint rate = BinaryPrimitives.ReadUInt32LittleEndian(fmt[4..]);
        int blockAlign = BinaryPrimitives.ReadUInt16LittleEndian(fmt[12..]);
        int bits = BinaryPrimitives.ReadUInt16LittleEndian(fmt[14..]);
        if (tag == FormatExtensible)
        {
            if (fmt.Length < 40)
            {
                throw new EdgeAvsrException($"{name}: WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk is {fmt.Length} bytes, expected 40");
            }
            int validBits = BinaryPrimitives.ReadUInt16LittleEndian(fmt[18..]);
            // The sub-format GUID starts with the plain format tag.
            tag = BinaryPrimitives.ReadUInt16LittleEndian(fmt[24..]);
            if (validBits > bits)
            {
                throw new EdgeAvsrException($"{name}: WAV declares {validBits} valid bits in {bits}-bit containers");
            }
        }
        if (channels < 1)
        {
            throw new EdgeAvsrException($"{name}: WAV declares {channels} channels");
        }
        if (rate < 1 || rate > 1_000_000)
        {
            throw new EdgeAvsrException($"{name}: WAV sample rate {rate} Hz is out of range (1..1000000)");
        }
        if (tag is not (FormatPcm or FormatFloat))
        {
            return new Format(tag, channels, (int)rate, bits);
        }
        bool ok = tag == FormatPcm ? bits is 8 or 16 or 24 or 32 : bits is 32 or 64;
        if (!ok)
        {
            throw new EdgeAvsrException($"{name}: WAV {(tag == FormatPcm ? "PCM" : "float")} with {bits} bits per sample is not supported (PCM " +
                "8/16/24/32, float 32/64)");
        }
        if (blockAlign != channels * bits / 8)
        {
            throw new EdgeAvsrException($"{name}: WAV block align {blockAlign} differs from {channels} channels x {bits} bits");
        }
        return new Format(tag, channels, (int)rate, bits);
    }

    private static void Decode(ReadOnlySpan<byte> data, Format f, Span<float> mono)
    {
        int channels = f.Channels;
        int width = f.BitsPerSample / 8;
        float inv = 1f / channels;
        for (int i = 0; i < mono.Length; i++)
        {
            double sum = 0;
            var frame = data.Slice(i * channels * width, channels * width);
            for (int c = 0; c < channels; c++)
            {
                var s = frame.Slice(c * width, width);
                sum += (f.IsFloat, width) switch
                {
                    (true, 4) => BinaryPrimitives.ReadSingleLittleEndian(s),
                    (true, _) => BinaryPrimitives.ReadDoubleLittleEndian(s),
                    (false, 1) => (s[0] - 128) / 128.0,
                    (false, 2) => BinaryPrimitives.ReadInt16LittleEndian(s) / 32768.0,
                    (false, 3) => ((s[0] << 8 | s[1] << 16 | s[2] << 24) >> 8) / 8388608.0,
                    _ => BinaryPrimitives.ReadInt32LittleEndian(s) / 2147483648.0,
                };
            }
            mono[i] = (float)(sum * inv);
        }
    }

    private static string ChunkName(ReadOnlySpan<byte> id)
    {
        Span<char> c = stackalloc char[4];
        for (int i = 0; i < 4; i++)
        {
            c[i] = id[i] is >= 32 and < 127 ? (char)id[i] : '?';
        }
        return new string(c);
    }
}
