using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EdgeAvsr.Runtime.Audio;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Video;

namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>
/// A media file played into the pipeline while it is decoded, so a long recording never sits in memory whole: audio
/// from ffmpeg (32-bit float at the stream's own rate, channels averaged, resampled by <see cref="ResamplerStream"/>:
/// the same samples the whole-file front-end gives (<see cref="AudioLoader"/> then <see cref="Resampler"/>), bit for bit) and mouth crops from ffmpeg
/// (96x96 gray at 25 fps).
/// WAV files are read whole by the native reader (as the front-end reads them), and full-face video goes through the
/// landmark model whole (its smoothing looks ahead), as <c>edgeavsr frames</c> does.
/// </summary>
public sealed class MediaFileSource
{
    private const int ReadBytes = 1 << 16;
    private readonly MediaClipRequest _request;
    private readonly MediaClipInfo _inspected;
    private readonly bool _wantAudio, _wantVideo;
    private readonly Stopwatch _decoding = new();
    private long _audioSamples, _videoFrames;

    /// <param name="request">The files.</param>
    /// <param name="wantAudio">Read the audio stream if there is one.</param>
    /// <param name="wantVideo">Read the video stream if there is one.</param>
    /// <param name="inspected">What <see cref="MediaClip.Inspect"/> found, when the caller has inspected the clip already
    /// (else inspected here).</param>
    public MediaFileSource(MediaClipRequest request, bool wantAudio, bool wantVideo, MediaClipInfo? inspected = null)
    {
        _request = request ?? throw new ArgumentNullException(nameof(request));
        _inspected = inspected ?? MediaClip.Inspect(request);
        var streams = _inspected.Streams;
        _wantAudio = wantAudio && streams.HasAudio;
        _wantVideo = wantVideo && streams.HasVideo;
        if (!_wantAudio && !_wantVideo)
        {
            throw new EdgeAvsrException($"{request.InputPath ?? request.AudioPath ?? request.VideoPath}: none of the wanted streams is present");
        }
        double duration = 0;
        foreach (string path in new[] { AudioPath, VideoPath }.OfType<string>().Distinct(StringComparer.Ordinal))
        {
            duration = Math.Max(duration, Info(path).DurationSeconds ?? 0);
        }
        EstimatedDurationSeconds = duration;
    }

    public MediaStreams Streams => new(_wantAudio, _wantVideo);

    /// <summary>The container's duration (for progress), before anything is decoded; 0 when unknown.</summary>
    public double EstimatedDurationSeconds { get; }

    /// <summary>What was read so far: the longer of the two streams.</summary>
    public double DurationSeconds => Math.Max(StreamClock.Seconds(_audioSamples), (double)_videoFrames / StreamClock.FrameRate);

    /// <summary>Time spent decoding (waiting on ffmpeg, resampling, crops) while the stream was read.</summary>
    public TimeSpan DecodeTime => _decoding.Elapsed;

    /// <summary>Which file each stream comes from and how it is read.</summary>
    public string Description { get; private set; } = "";

    private string? AudioPath => _wantAudio ? _request.AudioPath ?? _request.InputPath : null;

    private string? VideoPath => _wantVideo ? _request.VideoPath ?? _request.InputPath : null;

    /// <summary>The file as chunks of <paramref name="chunk"/> stream time, video before audio within a step.</summary>
    public async IAsyncEnumerable<MediaChunk> ReadAsync(TimeSpan chunk, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        long step = StreamClock.Samples(chunk);
        if (step < StreamClock.SamplesPerFrame)
        {
            throw new ArgumentOutOfRangeException(nameof(chunk), "chunks of at least one video frame (40 ms)");
        }
        _decoding.Start();
        using var audio = _wantAudio ? OpenAudio(AudioPath!) : null;
        using var video = _wantVideo ? OpenVideo(VideoPath!) : null;
        Description = string.Join("; ", new[] { audio?.Description, video?.Description }.Where(d => d is not null));
        _decoding.Stop();
        for (long at = 0; ; at += step)
        {
            cancellation.ThrowIfCancellationRequested();
            _decoding.Start();
            var frames = video?.Take(StreamClock.FrameAtOrAfter(at + step) - video.Position);
            var samples = audio?.Take(at + step - audio.Position);
            _decoding.Stop();
            if ((frames is null || frames.Count == 0) && (samples is null || samples.Length == 0))
            {
                break;
            }
            if (frames is { Count: > 0 })
            {
                yield return new VideoChunk(TimeSpan.FromSeconds((double)_videoFrames / StreamClock.FrameRate), frames);
                _videoFrames += frames.Count;
            }
            if (samples is { Length: > 0 })
            {
                yield return new AudioChunk(TimeSpan.FromSeconds(StreamClock.Seconds(_audioSamples)), samples);
                _audioSamples += samples.Length;
            }
            await Task.Yield();
        }
        _decoding.Start();
        audio?.Complete();
        video?.Complete();
        _decoding.Stop();
        if (_audioSamples == 0 && _wantAudio)
        {
            throw new EdgeAvsrException($"{AudioPath}: the audio is empty (zero samples)");
        }
        if (_videoFrames == 0 && _wantVideo)
        {
            throw new EdgeAvsrException($"{VideoPath}: the video has no frames");
        }
    }

    /// <summary>The inspection's report of <paramref name="path"/> (a file inspected apart is probed once more).</summary>
    private MediaFileInfo Info(string path) => _inspected.File(path) ?? Ffmpeg.Inspect(path);

    private AudioReader OpenAudio(string path)
    {
        if (WavReader.LooksLikeWav(path))
        {
            // The front-end's native reader (and ffmpeg for WAV codecs it does not read), whole: a WAV is already PCM.
            var signal = AudioLoader.Load(path);
            return new AudioReader(Resampler.To(signal, StreamClock.SampleRate).Samples,
                Inv($"audio {path} (WAV, {signal.SampleRate} Hz, {signal.DurationSeconds:0.###} s)"));
        }
        var (rate, channels) = Info(path).AudioFormat();
        var pipe = Ffmpeg.Open("ffmpeg", path, ["-v", "error", "-nostdin", "-i", path, "-map", "0:a:0", "-vn", "-f", "f32le", "-acodec", "pcm_f32le",
            "-ar", rate.ToString(CultureInfo.InvariantCulture), "pipe:1"]);
        return new AudioReader(pipe, path, rate, channels, Inv($"audio {path} ({rate} Hz, {channels} channel(s), streamed)"));
    }

    private VideoReader OpenVideo(string path)
    {
        var (width, height) = Info(path).VideoSize();
        var kind = MouthCropReader.Resolve(_request.VideoKind, width, height, _request.LandmarkModel is not null);
        if (kind == VideoInputKind.Face)
        {
            var crops = MouthCropReader.LoadCrops(path, _request.LandmarkModel, _request.VideoKind, _request.LandmarkSession);
            return new VideoReader(crops.Crops,
                Inv($"video {path} ({width}x{height}, face, {crops.Crops.Count} frames at 25 fps, {crops.FramesWithFace} with a face)"));
        }
        var pipe = Ffmpeg.Open("ffmpeg", path, VideoDecoder.Arguments(path, width, height, (MouthRoi.CropSize, MouthRoi.CropSize)));
        return new VideoReader(pipe, Inv($"video {path} ({width}x{height}, crops, streamed at 25 fps)"));
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>16 kHz mono samples from a decoded array or from ffmpeg through the streaming resampler.</summary>
    private sealed class AudioReader : IDisposable
    {
        private readonly FfmpegPipe? _pipe;
        private readonly ResamplerStream? _resampler;
        private readonly string _path = "";
        private readonly int _rate;
        private readonly int _channels;
        private readonly byte[] _raw;
        private long _decodedFrames;
        private float[] _pending = [];
        private int _pendingAt;
        private bool _ended;

        public AudioReader(float[] samples, string description)
        {
            _pending = samples;
            _ended = true;
            _raw = [];
            Description = description;
        }

        public AudioReader(FfmpegPipe pipe, string path, int rate, int channels, string description)
        {
            _pipe = pipe;
            _path = path;
            _rate = rate;
            _channels = channels;
            _raw = new byte[ReadBytes / (4 * channels) * 4 * channels];
            _resampler = rate == StreamClock.SampleRate ? null : new Resampler(rate, StreamClock.SampleRate).OpenStream();
            Description = description;
        }

        public string Description { get; }

        public long Position { get; private set; }

        public float[] Take(long count)
        {
            var result = new List<float>();
            while (result.Count < count)
            {
                if (_pendingAt == _pending.Length)
                {
                    if (_ended || !Refill())
                    {
                        break;
                    }
                    continue;
                }
                int n = (int)Math.Min(count - result.Count, _pending.Length - _pendingAt);
                result.AddRange(_pending.AsSpan(_pendingAt, n));
                _pendingAt += n;
            }
            Position += result.Count;
            return [.. result];
        }

        private bool Refill()
        {
            int read = _pipe!.Read(_raw);
            if (read % (4 * _channels) != 0)
            {
                throw new EdgeAvsrException($"ffmpeg returned a partial frame of {_channels} float32 samples");
            }
            var mono = AudioSignal.AverageChannels(MemoryMarshal.Cast<byte, float>(_raw.AsSpan(0, read)), _channels);
            AudioSignal.RequireFinite(_path, mono, _decodedFrames, _rate);
            _decodedFrames += mono.Length;
            if (read == 0)
            {
                _ended = true;
                _pending = _resampler?.Finish() ?? [];
            }
            else
            {
                _pending = _resampler?.Push(mono) ?? mono;
            }
            _pendingAt = 0;
            return _pending.Length > 0 || !_ended;
        }

        public void Complete() => _pipe?.Complete();

        public void Dispose() => _pipe?.Dispose();
    }

    /// <summary>96x96 crops from decoded frames or from ffmpeg.</summary>
    private sealed class VideoReader : IDisposable
    {
        private const int FrameBytes = MouthRoi.CropSize * MouthRoi.CropSize;
        private readonly FfmpegPipe? _pipe;
        private readonly GrayFrames? _all;

        public VideoReader(GrayFrames all, string description)
        {
            _all = all;
            Description = description;
        }

        public VideoReader(FfmpegPipe pipe, string description)
        {
            _pipe = pipe;
            Description = description;
        }

        public string Description { get; }

        public long Position { get; private set; }

        public GrayFrames Take(long count)
        {
            if (count <= 0)
            {
                return new GrayFrames([], 0, MouthRoi.CropSize, MouthRoi.CropSize);
            }
            byte[] pixels;
            if (_all is not null)
            {
                long n = Math.Clamp(_all.Count - Position, 0, count);
                pixels = _all.Pixels.AsSpan((int)(Position * FrameBytes), (int)(n * FrameBytes)).ToArray();
            }
            else
            {
                pixels = new byte[count * FrameBytes];
                int read = _pipe!.Read(pixels);
                if (read % FrameBytes != 0)
                {
                    throw new EdgeAvsrException($"ffmpeg returned {read} bytes, not whole {MouthRoi.CropSize}x{MouthRoi.CropSize} frames");
                }
                Array.Resize(ref pixels, read);
            }
            int frames = pixels.Length / FrameBytes;
            Position += frames;
            return new GrayFrames(pixels, frames, MouthRoi.CropSize, MouthRoi.CropSize);
        }

        public void Complete() => _pipe?.Complete();

        public void Dispose() => _pipe?.Dispose();
    }
}
