using EdgeAvsr.Runtime.Projector;
using System.Globalization;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Audio;
using EdgeAvsr.Runtime.Encoders;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Onnx;
using EdgeAvsr.Runtime.Video;

namespace EdgeAvsr.Quantize.Pack;

/// <summary>Encoder features of real media for the projector's calibration, computed with the pack's own front-ends and encoders.</summary>
public sealed record CalibrationFeatures(FloatMatrix? Audio, FloatMatrix? Video, string Source);

/// <summary>
/// Runs the pack's encoders over the media files at the top level of a folder (sorted by name): audio files
/// (<c>.wav .flac .mp3 .ogg .m4a</c>) through the audio front-end and encoder; video files (<c>.mp4 .mkv .avi .mov
/// .webm</c>) through the video front-end (mouth-crop clips of at most 128 px, as <c>edgeavsr frames</c> takes them
/// without a landmark model) and encoder, and their audio track through the audio encoder when the pack has one.
/// Each file's states are cut to a multiple of the pooling window, so no pooled token spans two files.
/// </summary>
public static class CalibrationMedia
{
    private static readonly string[] s_audio = [".wav", ".flac", ".mp3", ".ogg", ".m4a"];
    private static readonly string[] s_video = [".mp4", ".mkv", ".avi", ".mov", ".webm"];

    public static CalibrationFeatures Encode(string directory, string? audioEncoder, string? videoEncoder, bool waveformNormalization, RoutingSettings routing)
    {
        if (!Directory.Exists(directory))
        {
            throw new EdgeAvsrException($"{directory}: no such calibration media folder");
        }
        var files = Directory.GetFiles(directory).Order(StringComparer.Ordinal).ToList();
        var audioFiles = files.Where(f => audioEncoder is not null && (Has(s_audio, f) || Has(s_video, f))).ToList();
        var videoFiles = files.Where(f => videoEncoder is not null && Has(s_video, f)).ToList();
        if (audioEncoder is not null && audioFiles.Count == 0)
        {
            throw new EdgeAvsrException($"{directory}: no audio or video files ({string.Join(" ", s_audio.Concat(s_video))}) to calibrate the audio " +
                "experts with");
        }
        if (videoEncoder is not null && videoFiles.Count == 0)
        {
            throw new EdgeAvsrException($"{directory}: no video files ({string.Join(" ", s_video)}) to calibrate the video experts with");
        }
        var session = new OnnxSessionOptions { Providers = [ExecutionProvider.Cpu] };
        FloatMatrix? audio = null, video = null;
        if (audioEncoder is not null)
        {
            using var enc = EncoderSession.Open(audioEncoder, session);
            audio = Concat(audioFiles.Select(f =>
            {
                var signal = AudioLoader.Load(f);
                return enc.EncodeAudio(LogMelFeatures.Compute(signal, waveformNormalization), signal.DurationSeconds);
            }), routing.AudioPool);
        }
        if (videoEncoder is not null)
        {
            using var enc = EncoderSession.Open(videoEncoder, session);
            video = Concat(videoFiles.Select(f =>
            {
                var (roi, crops) = MouthCropReader.ReadRoi(f);
                return enc.EncodeVideo(roi, crops.Crops.Count);
            }), routing.VideoPool);
        }
        string source = string.Create(CultureInfo.InvariantCulture,
            $"media: {directory} ({audioFiles.Count} file(s) -> {audio?.Rows ?? 0} audio states, {videoFiles.Count} file(s) -> {video?.Rows ?? 0} ")
            + "video frames), encoded by the pack's encoders";
        return new CalibrationFeatures(audio, video, source);
    }

    /// <summary>
    /// The encoder inputs of the media in <paramref name="directory"/> through the runtime's front-ends: for an audio
    /// encoder the log-mel [1, 80, <paramref name="melFrames"/>] of every audio file and video file's audio track; for a
    /// video encoder the mouth ROI [1, 1, T, 88, 88] of every video file. Returns the inputs and a line saying what they are.
    /// </summary>
    public static (IReadOnlyList<OnnxTensor> Inputs, string Source) EncoderInputs(string directory, EncoderKind kind, bool waveformNormalization,
        int melFrames)
    {
        if (!Directory.Exists(directory))
        {
            throw new EdgeAvsrException($"{directory}: no such calibration media folder");
        }
        var files = Directory.GetFiles(directory).Order(StringComparer.Ordinal)
            .Where(f => kind == EncoderKind.Audio ? Has(s_audio, f) || Has(s_video, f) : Has(s_video, f)).ToList();
        if (files.Count == 0)
        {
            string wanted = kind == EncoderKind.Audio ? string.Join(" ", s_audio.Concat(s_video)) : string.Join(" ", s_video);
            throw new EdgeAvsrException($"{directory}: no {(kind == EncoderKind.Audio ? "audio or video" : "video")} files ({wanted}) to calibrate " +
                $"the {kind.ToString().ToLowerInvariant()} encoder with");
        }
        var inputs = new List<OnnxTensor>();
        foreach (string f in files)
        {
            if (kind == EncoderKind.Audio)
            {
                var signal = AudioLoader.Load(f);
                inputs.Add(OnnxTensor.Float(LogMelFeatures.Compute(signal, waveformNormalization, frames: melFrames), 1, EncoderSession.MelBins, melFrames));
            }
            else
            {
                var (roi, crops) = MouthCropReader.ReadRoi(f);
                inputs.Add(OnnxTensor.Float(roi, 1, 1, crops.Crops.Count, EncoderSession.RoiSize, EncoderSession.RoiSize));
            }
        }
        string source = kind == EncoderKind.Audio
            ? string.Create(CultureInfo.InvariantCulture, $"media: {directory} ({files.Count} file(s) -> log-mel [80, {melFrames}], " +
                $"waveform normalization {(waveformNormalization ? "on" : "off")})")
            : string.Create(CultureInfo.InvariantCulture, $"media: {directory} ({files.Count} file(s) -> mouth ROI, {inputs.Sum(t => t.Shape[2])} frames)");
        return (inputs, source);
    }

    private static bool Has(string[] extensions, string path) => extensions.Contains(Path.GetExtension(path).ToLowerInvariant());

    private static FloatMatrix Concat(IEnumerable<FloatMatrix> parts, int pool)
    {
        var kept = new List<FloatMatrix>();
        foreach (var m in parts)
        {
            int rows = m.Rows / pool * pool;
            if (rows > 0)
            {
                kept.Add(new FloatMatrix(m.Data.AsSpan(0, rows * m.Columns).ToArray(), rows, m.Columns));
            }
        }
        if (kept.Count == 0)
        {
            throw new EdgeAvsrException($"the calibration media give fewer encoder states than one pooling window ({pool})");
        }
        var all = new FloatMatrix(kept.Sum(m => m.Rows), kept[0].Columns);
        int offset = 0;
        foreach (var m in kept)
        {
            m.Data.CopyTo(all.Data, offset);
            offset += m.Data.Length;
        }
        return all;
    }
}
