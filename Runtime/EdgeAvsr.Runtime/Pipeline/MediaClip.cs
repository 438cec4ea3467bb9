using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using EdgeAvsr.Runtime.Audio;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Interop.Onnx;
using EdgeAvsr.Runtime.Video;

namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>Where a clip comes from: one file with both streams, or separate audio and video files.</summary>
public sealed record MediaClipRequest
{
    /// <summary>One file (MP4, MKV, WAV, ...): the streams it has are used.</summary>
    public string? InputPath { get; init; }

    public string? AudioPath { get; init; }

    public string? VideoPath { get; init; }

    /// <summary>Face-landmark model for full-face video (docs/landmark-model.md).</summary>
    public string? LandmarkModel { get; init; }

    public VideoInputKind VideoKind { get; init; } = VideoInputKind.Auto;

    public OnnxSessionOptions LandmarkSession { get; init; } = new();
}

/// <summary>
/// A media file decoded for the pipeline: 16 kHz mono audio and 96x96 mouth crops at 25 fps (through the same
/// front-end code as <c>edgeavsr features</c> and <c>edgeavsr frames</c>), played out as a clock-stamped stream.
/// </summary>
public sealed class MediaClip
{
    private MediaClip(float[]? audio, GrayFrames? video, TimeSpan decodeTime, string description)
    {
        Audio = audio;
        Video = video;
        DecodeTime = decodeTime;
        Description = description;
    }

    public float[]? Audio { get; }

    public GrayFrames? Video { get; }

    public MediaStreams Streams => new(Audio is not null, Video is not null);

    public double DurationSeconds => Math.Max(Audio is null ? 0 : StreamClock.Seconds(Audio.Length), Video is null ? 0 : (double)Video.Count / StreamClock.FrameRate);

    /// <summary>Wall time spent decoding (ffmpeg, resampling, mouth crops).</summary>
    public TimeSpan DecodeTime { get; }

    /// <summary>Which file each stream came from.</summary>
    public string Description { get; }

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

    /// <summary>Decodes the streams that are wanted (a task may leave one unused, but audio is kept for the VAD).</summary>
    public static MediaClip Load(MediaClipRequest request, bool wantAudio, bool wantVideo)
    {
        ArgumentNullException.ThrowIfNull(request);
        Validate(request);
        var clock = Stopwatch.StartNew();
        string? audioPath = request.AudioPath ?? request.InputPath;
        string? videoPath = request.VideoPath ?? request.InputPath;
        var streams = Probe(request);
        float[]? audio = null;
        GrayFrames? video = null;
        var description = new StringBuilder();
        if (wantAudio && streams.HasAudio)
        {
            var signal = AudioLoader.Load(audioPath!);
            audio = Resampler.To(signal, StreamClock.SampleRate).Samples;
            description.Append($"audio {audioPath} ({signal.SampleRate} Hz, {signal.DurationSeconds:0.###} s)");
        }
        if (wantVideo && streams.HasVideo)
        {
            var crops = FrameJob.LoadCrops(videoPath!, request.LandmarkModel, request.VideoKind, request.LandmarkSession);
            video = crops.Crops;
            if (description.Length > 0)
            {
                description.Append("; ");
            }
            description.Append($"video {videoPath} ({crops.SourceWidth}x{crops.SourceHeight}, {crops.Kind.ToString().ToLowerInvariant()}, {video.Count} frames at 25 fps)");
        }
        if (audio is null && video is null)
        {
            throw new EdgeAvsrException($"{request.InputPath ?? request.AudioPath ?? request.VideoPath}: none of the wanted streams is present");
        }
        return new MediaClip(audio, video, clock.Elapsed, description.ToString());
    }

    /// <summary>The clip as a stream of chunks of <paramref name="chunk"/> stream time: per step the video frames first, then the audio, so video never lags.</summary>
    public async IAsyncEnumerable<MediaChunk> StreamAsync(TimeSpan chunk, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        long step = StreamClock.Samples(chunk);
        if (step < StreamClock.SamplesPerFrame)
        {
            throw new ArgumentOutOfRangeException(nameof(chunk), "chunks of at least one video frame (40 ms)");
        }
        long total = Math.Max(Audio?.Length ?? 0, (Video?.Count ?? 0) * (long)StreamClock.SamplesPerFrame);
        long frameAt = 0;
        for (long at = 0; at < total; at += step)
        {
            cancellation.ThrowIfCancellationRequested();
            long end = Math.Min(total, at + step);
            if (Video is not null)
            {
                long frameEnd = Math.Min(Video.Count, StreamClock.FrameAtOrAfter(end));
                if (frameEnd > frameAt)
                {
                    int n = (int)(frameEnd - frameAt);
                    int bytes = Video.Width * Video.Height;
                    var pixels = Video.Pixels.AsSpan((int)(frameAt * bytes), n * bytes).ToArray();
                    yield return new VideoChunk(TimeSpan.FromSeconds((double)frameAt / StreamClock.FrameRate), new GrayFrames(pixels, n, Video.Width, Video.Height));
                    frameAt = frameEnd;
                }
            }
            if (Audio is not null && at < Audio.Length)
            {
                var samples = Audio.AsSpan((int)at, (int)(Math.Min(end, Audio.Length) - at)).ToArray();
                yield return new AudioChunk(TimeSpan.FromSeconds(StreamClock.Seconds(at)), samples);
            }
            await Task.Yield();
        }
    }

    private static void Validate(MediaClipRequest r)
    {
        if (r.InputPath is not null && (r.AudioPath is not null || r.VideoPath is not null))
        {
            throw new EdgeAvsrException("give --input, or --audio and/or --video, not both");
        }
        if (r.InputPath is null && r.AudioPath is null && r.VideoPath is null)
        {
            throw new EdgeAvsrException("no media: give --input CLIP, or --audio A and/or --video V");
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
        byte[] output = Ffmpeg.Run("ffprobe", path, ["-v", "error", "-show_entries", "stream=codec_type:stream_disposition=attached_pic", "-of", "csv=p=0", path]);
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
