using EdgeAvsr.Runtime.Audio;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Onnx;
using EdgeAvsr.Runtime.Video;

namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>What a <see cref="MediaClipRequest"/>'s files hold, found by ffprobe (or the WAV header) before anything is decoded.</summary>
public static class MediaClip
{
    /// <summary>Which streams the request's files hold, without decoding them (ffprobe).</summary>
    public static MediaStreams Probe(MediaClipRequest request) => Inspect(request).Streams;

    /// <summary>
    /// The request's streams and each file's ffprobe report, one ffprobe run per file: hand it to <see
    /// cref="MediaFileSource"/> so that nothing is probed twice.
    /// </summary>
    public static MediaClipInfo Inspect(MediaClipRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        Validate(request);
        if (request.InputPath is { } input)
        {
            var info = Ffmpeg.Inspect(input);
            if (!info.HasAudio && !info.HasVideo)
            {
                throw new EdgeAvsrException($"{input}: no audio or video stream found");
            }
            return new(new(info.HasAudio, info.HasVideo), [info]);
        }
        var files = new[] { request.AudioPath, request.VideoPath }.OfType<string>().Distinct(StringComparer.Ordinal).Select(Ffmpeg.Inspect).ToList();
        return new(new(request.AudioPath is not null, request.VideoPath is not null), files);
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
}
