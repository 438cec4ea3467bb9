using System.Text;
using EdgeAvsr.Runtime.Audio;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Onnx;
using EdgeAvsr.Runtime.Video;

namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>What a <see cref="MediaClipRequest"/>'s files hold, found by ffprobe (or the WAV header) before anything is decoded.</summary>
public static class MediaClip
{
    /// <summary>Which streams the request's files hold, without decoding them (ffprobe).</summary>
    public static MediaStreams Probe(MediaClipRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        Validate(request);
        if (request.InputPath is { } input)
        {
            var kinds = StreamKinds(input);
            if (!kinds.HasAudio && !kinds.HasVideo)
            {
                throw new EdgeAvsrException($"{input}: no audio or video stream found");
            }
            return kinds;
        }
        return new(request.AudioPath is not null, request.VideoPath is not null);
    }

    private static void Validate(MediaClipRequest r)
    {
        // The command line says this in its flags before it gets here; these guard other callers.
        if (r.InputPath is not null && (r.AudioPath is not null || r.VideoPath is not null))
        {
            throw new EdgeAvsrException("a clip is one InputPath, or an AudioPath and/or a VideoPath, not both");
        }
        if (r.InputPath is null && r.AudioPath is null && r.VideoPath is null)
        {
            throw new EdgeAvsrException("no media: set InputPath, or AudioPath and/or VideoPath");
        }
        foreach (string? path in new[] { r.InputPath, r.AudioPath, r.VideoPath })
        {
            if (path is not null && !File.Exists(path))
            {
                throw new EdgeAvsrException($"{path}: file not found");
            }
        }
    }

    private static MediaStreams StreamKinds(string path)
    {
        if (WavReader.LooksLikeWav(path))
        {
            return new(true, false);
        }
        // Cover art (attached pictures) in audio files is not a video stream.
        byte[] output = Ffmpeg.Run("ffprobe", path,
            ["-v", "error", "-show_entries", "stream=codec_type:stream_disposition=attached_pic", "-of", "csv=p=0", path]);
        bool audio = false, video = false;
        foreach (string line in Encoding.UTF8.GetString(output).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string[] fields = line.Split(',');
            audio |= fields[0] == "audio";
            video |= fields[0] == "video" && !(fields.Length > 1 && fields[1] == "1");
        }
        return new(audio, video);
    }
}
