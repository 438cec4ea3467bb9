using System.Text.Json;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Runtime.Audio;

/// <summary>What <c>edgeavsr features</c> asks for.</summary>
public sealed record FeatureRequest
{
    public required string AudioPath { get; init; }

    public required string OutputPath { get; init; }

    /// <summary>Zero-mean unit-variance waveform normalisation before the log-mel (Llama-AVSR applies it per model).</summary>
    public bool Normalize { get; init; }

    /// <summary>Worker threads for the log-mel (0: one per core).</summary>
    public int Threads { get; init; }
}

/// <summary>The features written and the audio's duration (what the encoder's output is trimmed by).</summary>
public sealed record FeatureResult(double DurationSeconds, int SourceSampleRate, float[] LogMel, string MelPath, string SidecarPath);

/// <summary>
/// Audio file to Whisper log-mel: load (WAV natively, anything else via ffmpeg), resample to 16 kHz, optionally
/// normalise the waveform, compute <see cref="WhisperLogMel"/>, write float32 [80, 3000] .npy and beside it a
/// .json holding exactly <c>{"duration_seconds": S}</c> (the encoder stage reads that key).
/// </summary>
public static class FeatureJob
{
    public const string DurationKey = "duration_seconds";

    public static FeatureResult Run(FeatureRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.Equals(Path.GetExtension(request.OutputPath), ".json", StringComparison.OrdinalIgnoreCase))
        {
            throw new EdgeAvsrException($"{request.OutputPath}: the features go to a .npy file (the .json beside it holds the duration)");
        }
        ThreadCount.Check(request.Threads);
        var signal = AudioLoader.Load(request.AudioPath);
        float[] mel = Compute(signal, request.Normalize, request.Threads);
        string sidecar = SidecarPath(request.OutputPath);
        NpyFile.Write(request.OutputPath, mel, WhisperLogMel.MelBins, WhisperLogMel.Frames);
        WriteSidecar(sidecar, signal.DurationSeconds);
        return new FeatureResult(signal.DurationSeconds, signal.SampleRate, mel, request.OutputPath, sidecar);
    }

    /// <summary>The 16 kHz signal the log-mel sees (resampled, then normalised if asked).</summary>
    public static float[] Prepare(AudioSignal signal, bool normalize)
    {
        ArgumentNullException.ThrowIfNull(signal);
        float[] samples = Resampler.To(signal, WhisperLogMel.SampleRate).Samples;
        return normalize ? WaveformNormalization.Normalize(samples) : samples;
    }

    public static float[] Compute(AudioSignal signal, bool normalize, int threads = 0) =>
        new WhisperLogMel(threads).Compute(Prepare(signal, normalize));

    /// <summary><c>mel.npy</c> -> <c>mel.json</c>.</summary>
    public static string SidecarPath(string melPath) => Path.ChangeExtension(melPath, ".json");

    public static void WriteSidecar(string path, double durationSeconds) =>
        AtomicFile.Write(path, s =>
        {
            using var w = new Utf8JsonWriter(s);
            w.WriteStartObject();
            w.WriteNumber(DurationKey, durationSeconds);
            w.WriteEndObject();
        });
}
