namespace EdgeAvsr.Runtime.Audio;

/// <summary>
/// An audio signal to the Whisper log-mel the audio encoder reads: resampled to 16 kHz, optionally normalised
/// (zero mean, unit variance, as Llama-AVSR does per model), then <see cref="WhisperLogMel"/> (float32 [80, 3000], or a shorter window).
/// </summary>
public static class LogMelFeatures
{
    /// <summary>The 16 kHz signal the log-mel sees (resampled, then normalised if asked).</summary>
    public static float[] Prepare(AudioSignal signal, bool normalize)
    {
        ArgumentNullException.ThrowIfNull(signal);
        float[] samples = Resampler.To(signal, WhisperLogMel.SampleRate).Samples;
        return normalize ? WaveformNormalization.Normalize(samples) : samples;
    }

    /// <summary>The log-mel [80, <paramref name="frames"/>] of <paramref name="signal"/> (Whisper's window: 3000 frames).</summary>
    public static float[] Compute(AudioSignal signal, bool normalize, int threads = 0, int frames = WhisperLogMel.Frames) =>
        new WhisperLogMel(threads, frames).Compute(Prepare(signal, normalize));
}
