using System.Buffers.Binary;
using EdgeAvsr.Runtime.Audio;

namespace EdgeAvsr.Runtime.Tests.Audio;

/// <summary>WAV reading against sox's own decoding, ffmpeg decoding, and malformed input.</summary>
public class AudioInputTests
{
    // A multi-tone signal made by sox in each sample format; sox also writes its raw float32 decoding,
    // whose channel average is what the reader must return.
    [Theory]
    [InlineData("-b 16 -e signed-integer", 1, 16000)]
    [InlineData("-b 16 -e signed-integer", 2, 22050)]
    [InlineData("-b 24 -e signed-integer", 2, 44100)]
    [InlineData("-b 32 -e signed-integer", 3, 8000)]
    [InlineData("-b 8 -e unsigned-integer", 1, 11025)]
    [InlineData("-b 32 -e floating-point", 6, 48000)]
    [InlineData("-b 64 -e floating-point", 2, 16000)]
    public void Wav_AllFormats_EqualSoxDecoding_MixedToMono(string format, int channels, int rate)
    {
        using var dir = new TempDir();
        string wav = dir.File("x.wav"), raw = dir.File("x.f32");
        var synth = new List<string> { "-n", "-r", rate.ToString(System.Globalization.CultureInfo.InvariantCulture), "-c",
            channels.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        synth.AddRange(format.Split(' '));
        synth.AddRange([wav, "synth", "0.3"]);
        for (int c = 0; c < channels; c++)
        {
            synth.AddRange(["sine", (300 + 170 * c).ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        }
        synth.AddRange(["vol", "0.7"]);
        Tools.Run("sox", [.. synth]);
        Tools.Run("sox", wav, "-t", "f32", raw);
        var interleaved = Tools.ReadRawFloat(raw);
        var signal = AudioLoader.Load(wav);
        Assert.Equal(rate, signal.SampleRate);
        Assert.Equal(interleaved.Length / channels, signal.Samples.Length);
        double maxErr = 0;
        for (int i = 0; i < signal.Samples.Length; i++)
        {
            double sum = 0;
            for (int c = 0; c < channels; c++)
            {
                sum += interleaved[i * channels + c];
            }
            maxErr = Math.Max(maxErr, Math.Abs(sum / channels - signal.Samples[i]));
        }
        Assert.True(maxErr < 1e-6, $"max error {maxErr}");
        Assert.True(signal.Samples.Max() > 0.1f);
        if (!format.Contains("floating", StringComparison.Ordinal) && (channels > 2 || format.Contains("-b 24", StringComparison.Ordinal)))
        {
            // sox writes WAVE_FORMAT_EXTENSIBLE for integer samples wider than 16 bits or more than 2 channels: the test covers that header.
            Assert.Equal(0xFFFE, BinaryPrimitives.ReadUInt16LittleEndian(File.ReadAllBytes(wav).AsSpan(20)));
        }
    }

    [Fact]
    public void Wav_OtherCodec_AndCompressedFormats_DecodeThroughFfmpeg()
    {
        using var dir = new TempDir();
        string wav = dir.File("x.wav");
        Tools.Run("sox", "-n", "-r", "22050", "-c", "2", "-b", "16", wav, "synth", "0.5", "sine", "440", "sine", "700", "vol", "0.6");
        var reference = AudioLoader.Load(wav);
        // flac is lossless: the same samples exactly.
        Tools.Run("ffmpeg", "-v", "error", "-i", wav, dir.File("x.flac"));
        var flac = AudioLoader.Load(dir.File("x.flac"));
        Assert.Equal(22050, flac.SampleRate);
        Assert.Equal(reference.Samples, flac.Samples);
        // a-law inside a WAV container: not PCM, so ffmpeg decodes it; close to the source.
        Tools.Run("sox", wav, "-e", "a-law", dir.File("alaw.wav"));
        var alaw = AudioLoader.Load(dir.File("alaw.wav"));
        Assert.Equal(reference.Samples.Length, alaw.Samples.Length);
        Assert.True(MaxAbsDiff(reference.Samples, alaw.Samples) < 0.02);
        // the audio track of an mp4 (AAC) next to a video track, and an mp3.
        Tools.Run("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=gray:s=32x32:r=25:d=0.5", "-i", wav, "-c:v", "libx264", "-c:a", "aac",
            "-shortest", dir.File("x.mp4"));
        var mp4 = AudioLoader.Load(dir.File("x.mp4"));
        Assert.Equal(22050, mp4.SampleRate);
        Assert.InRange(mp4.DurationSeconds, 0.4, 0.6);
        Tools.Run("ffmpeg", "-v", "error", "-i", wav, dir.File("x.mp3"));
        var mp3 = AudioLoader.Load(dir.File("x.mp3"));
        Assert.Equal(22050, mp3.SampleRate);
        Assert.InRange(mp3.DurationSeconds, 0.45, 0.6);
    }

    public static TheoryData<string, string> BadFiles => new()
    {
        { "missing", "audio file not found" },
        { "garbage", "cannot decode it" },
        { "video-only", "no audio stream" },
        { "empty-wav", "the audio is empty" },
        { "truncated-data", "truncated" },
        { "truncated-fmt", "WAV chunk 'fmt ' declares 16 bytes" },
        { "no-data", "has no 'data' chunk" },
        { "bad-bits", "PCM with 12 bits per sample is not supported" },
        { "zero-length-file", "cannot decode it" },
        { "float-nan", "sample 5 (0.0003 s) is NaN; audio samples must be finite" },
        { "float-inf", "sample 2 (0.0001 s) is -Infinity; audio samples must be finite" },
        { "empty-data-then-list", "the audio is empty" },
        { "ffmpeg-float-nan", "sample 5 (0.0003 s) is NaN; audio samples must be finite" },
    };

    [Fact]
    public void Wav_StreamingWritersUnknownLengthMarkers_ReadToTheEnd()
    {
        // ffmpeg writing to a pipe leaves 0xFFFFFFFF in the RIFF and data sizes, sox 0x7FFFF000; others leave 0.
        using var dir = new TempDir();
        string seekable = dir.File("seekable.wav"), piped = dir.File("piped.wav");
        Tools.Run("sox", "-n", "-r", "16000", "-c", "1", "-b", "16", seekable, "synth", "0.3", "sine", "300");
        var reference = AudioLoader.Load(seekable).Samples;
        byte[] good = File.ReadAllBytes(seekable);
        int dataSize = good.Length - 44;
        Assert.Equal(dataSize, BinaryPrimitives.ReadInt32LittleEndian(good.AsSpan(40)));
        foreach (uint unknownLength in new uint[] { 0xFFFFFFFF, 0x7FFFF000, 0 })
        {
            var b = (byte[])good.Clone();
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), unknownLength);
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(40), unknownLength);
            File.WriteAllBytes(piped, b);
            Assert.Equal(reference, AudioLoader.Load(piped).Samples);
        }
        // And a real pipe: ffmpeg's own streaming header in front of its LIST chunk and data.
        string fromPipe = dir.File("from-pipe.wav");
        Tools.Run("sh", "-c", $"ffmpeg -v error -i '{seekable}' -f wav pipe:1 > '{fromPipe}'");
        Assert.Equal(0xFFFFFFFFu, BinaryPrimitives.ReadUInt32LittleEndian(File.ReadAllBytes(fromPipe).AsSpan(4)));
        Assert.Equal(reference, AudioLoader.Load(fromPipe).Samples);
    }

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void BadInput_ClearError(string kind, string expected)
    {
        using var dir = new TempDir();
        string path = MakeBad(dir, kind);
        var e = Assert.Throws<EdgeAvsrException>(() => AudioLoader.Load(path));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StreamedDecoding_RefusesNonFiniteSamples_Too()
    {
        // The live file source streams non-WAV audio through ffmpeg chunk by chunk; the same check applies there.
        using var dir = new TempDir();
        string caf = MakeBad(dir, "ffmpeg-float-nan");
        var source = new Runtime.Pipeline.MediaFileSource(new Runtime.Pipeline.MediaClipRequest { InputPath = caf }, wantAudio: true, wantVideo: false);
        var e = await Assert.ThrowsAsync<EdgeAvsrException>(async () =>
        {
            await foreach (var _ in source.ReadAsync(TimeSpan.FromSeconds(0.1)))
            {
            }
        });
        Assert.Contains($"{caf}: sample 5 (0.0003 s) is NaN", e.Message, StringComparison.Ordinal);
    }

    internal static string MakeBad(TempDir dir, string kind)
    {
        string path = dir.File(kind + (kind is "garbage" ? ".mp3" : kind is "video-only" ? ".mp4" : ".wav"));
        byte[] good = Wav16(new short[] { 1, 2, 3, 4, 5, 6, 7, 8 }, 16000);
        switch (kind)
        {
            case "missing":
                break;
            case "garbage":
                var rng = new Random(5);
                var junk = new byte[4000];
                rng.NextBytes(junk);
                File.WriteAllBytes(path, junk);
                break;
            case "video-only":
                Tools.Run("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=gray:s=32x32:r=25:d=0.2", "-c:v", "libx264", path);
                break;
            case "empty-wav":
                File.WriteAllBytes(path, Wav16([], 16000));
                break;
            case "truncated-data":
                File.WriteAllBytes(path, good[..^5]);
                break;
            case "truncated-fmt":
                File.WriteAllBytes(path, good[..30]);
                break;
            case "no-data":
                File.WriteAllBytes(path, good[..36]);
                break;
            case "bad-bits":
                var b = (byte[])good.Clone();
                BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(34), 12);
                File.WriteAllBytes(path, b);
                break;
            case "zero-length-file":
                File.WriteAllBytes(path, []);
                break;
            case "float-nan":
            case "float-inf":
                float[] values = [0.1f, -0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f];
                values[kind == "float-nan" ? 5 : 2] = kind == "float-nan" ? float.NaN : float.NegativeInfinity;
                File.WriteAllBytes(path, WavFloat(values, 16000));
                break;
            case "ffmpeg-float-nan":
                // A float WAV in a codec wrapper our reader hands to ffmpeg (CAF): ffmpeg passes the NaN through.
                path = dir.File("float-nan.caf");
                float[] withNan = [0.1f, -0.2f, 0.3f, 0.4f, 0.5f, float.NaN, 0.7f, 0.8f];
                File.WriteAllBytes(dir.File("nan-source.wav"), WavFloat(withNan, 16000));
                Tools.Run("ffmpeg", "-v", "error", "-i", dir.File("nan-source.wav"), "-c:a", "pcm_f32le", path);
                break;
            case "empty-data-then-list":
                // A data chunk that declares 0 bytes, then a LIST chunk: empty audio, not a streaming file whose
                // "samples" are the LIST chunk's bytes.
                var head = Wav16([], 16000);
                byte[] list = [.. "LIST"u8, 12, 0, 0, 0, .. "INFOISFT"u8, 0, 0, 0, 0];
                File.WriteAllBytes(path, [.. head, .. list]);
                break;
            default:
                throw new ArgumentException(kind);
        }
        return path;
    }

    internal static byte[] WavFloat(float[] samples, int rate)
    {
        var data = new byte[4 * samples.Length];
        for (int i = 0; i < samples.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(4 * i), samples[i]);
        }
        return Wav(data, formatTag: 3, bitsPerSample: 32, rate);
    }

    internal static byte[] Wav16(short[] samples, int rate)
    {
        var data = new byte[2 * samples.Length];
        for (int i = 0; i < samples.Length; i++)
        {
            BinaryPrimitives.WriteInt16LittleEndian(data.AsSpan(2 * i), samples[i]);
        }
        return Wav(data, formatTag: 1, bitsPerSample: 16, rate);
    }

    // A mono canonical 44-byte-header WAV around the sample bytes.
    private static byte[] Wav(byte[] data, short formatTag, short bitsPerSample, int rate)
    {
        int bytesPerSample = bitsPerSample / 8;
        var b = new byte[44 + data.Length];
        "RIFF"u8.CopyTo(b);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4), 36 + data.Length);
        "WAVEfmt "u8.CopyTo(b.AsSpan(8));
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(16), 16);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(20), formatTag);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(22), 1);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(24), rate);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(28), rate * bytesPerSample);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(32), (short)bytesPerSample);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(34), bitsPerSample);
        "data"u8.CopyTo(b.AsSpan(36));
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(40), data.Length);
        data.CopyTo(b.AsSpan(44));
        return b;
    }

    internal static double MaxAbsDiff(float[] a, float[] b)
    {
        double m = 0;
        for (int i = 0; i < Math.Min(a.Length, b.Length); i++)
        {
            m = Math.Max(m, Math.Abs((double)a[i] - b[i]));
        }
        return m;
    }

    [Fact]
    public void Normalize_ZeroMeanUnitVariance_LikeLayerNorm()
    {
        var rng = new Random(11);
        var x = new float[5001];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)(0.3 + 0.05 * (rng.NextDouble() - 0.5));
        }
        var y = WaveformNormalization.Normalize(x);
        double mean = y.Average(v => (double)v);
        double variance = y.Average(v => ((double)v - mean) * ((double)v - mean));
        Assert.InRange(mean, -1e-5, 1e-5);
        Assert.InRange(variance, 1 - 1e-4, 1 + 1e-4);
        // Same as torch.nn.functional.layer_norm over the whole utterance (eps 1e-8).
        using var dir = new TempDir();
        Runtime.Formats.NpyFile.Write(dir.File("x.npy"), x, x.Length);
        Python.Run($"import numpy as np, torch; x=torch.from_numpy(np.load('{dir.File("x.npy")}')); np.save('{dir.File("y.npy")}', " +
            "torch.nn.functional.layer_norm(x, x.shape, eps=1e-8).numpy())");
        var reference = Runtime.Formats.NpyFile.ReadFloat32(dir.File("y.npy")).Data;
        Assert.True(MaxAbsDiff(reference, y) < 1e-4, $"max diff {MaxAbsDiff(reference, y)}");
    }
}
