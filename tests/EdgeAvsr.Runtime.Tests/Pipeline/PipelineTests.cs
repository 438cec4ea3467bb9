using System.Text.Json;
using EdgeAvsr.Cli.Commands;
using EdgeAvsr.Cli;
using EdgeAvsr.Runtime.Audio;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Pipeline;
using EdgeAvsr.Runtime.Tests.Pack;
using EdgeAvsr.Runtime.Video;
using EdgeAvsr.Tests.Shared;
using Xunit.Abstractions;

namespace EdgeAvsr.Runtime.Tests.Pipeline;

/// <summary>
/// A tiny pack (Pack/PackParts: encoders D=64, INT8 DEDR projector, AVSR decoder d=256) and a real clip made by
/// Models/media/make_clip.py: two espeak-ng sentences 1.5 s apart, a mouth video following the speech envelope, H.264/AAC MP4,
/// plus the WAV and the video-only MP4 alone. The speech spans make_clip reports are the independent truth for the cuts.
/// </summary>
public sealed class PipelineFixture : IDisposable
{
    private readonly TempDir _dir = new();

    public PipelineFixture()
    {
        Parts = PackParts.Shared;
        Pack = Parts.Build(_dir);
        Clip = _dir.File("clip.mp4");
        Wav = _dir.File("clip.wav");
        VideoOnly = _dir.File("video.mp4");
        string report = Python.Script("Models/media/make_clip.py", "--text", "hello edge device", "--text", "captions on a kiosk",
            "--gap", "1.5", "--out", Clip, "--wav", Wav, "--video-only", VideoOnly);
        using var json = JsonDocument.Parse(report);
        Speech = [.. json.RootElement.GetProperty("speech").EnumerateArray().Select(s => (s[0].GetDouble(), s[1].GetDouble()))];
        Duration = json.RootElement.GetProperty("duration").GetDouble();
    }

    public PackParts Parts { get; }

    public string Pack { get; }

    public string Clip { get; }

    public string Wav { get; }

    public string VideoOnly { get; }

    public (double Start, double End)[] Speech { get; }

    public double Duration { get; }

    public string File(string name) => _dir.File(name);

    public void Dispose() => _dir.Dispose();
}

[Collection("console")]
public class PipelineTests(PipelineFixture f, ITestOutputHelper output) : IClassFixture<PipelineFixture>
{
    private static void Has(string expected, string actual) => Assert.True(actual.Contains(expected, StringComparison.Ordinal), $"expected " +
        $"'{expected}' in: {actual}");

    private (int Code, string Out, string Err) Transcribe(params string[] args) =>
        CliHarness.Edgeavsr(["transcribe", "--model", f.Pack, "--threads", "1", "--beams", "1", .. args]);

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    private AvsrModels Load() => AvsrModels.Load(f.Pack, new AvsrModelOptions { Threads = 1 });

    [Fact]
    public void Transcribe_AudioVisualClip_OneSegmentPerSentence_WithMediaRangesExpertsAndTimings()
    {
        var (code, stdout, stderr) = Transcribe("--input", f.Clip, "--format", "json");
        Assert.True(code == 0, stderr);
        Has("task: avsr (audio and video present)", stderr);
        var root = Json(stdout);
        Assert.Equal("avsr", root.GetProperty("task").GetString());
        var segments = root.GetProperty("segments").EnumerateArray().ToArray();
        Assert.Equal(f.Speech.Length, segments.Length);
        for (int i = 0; i < segments.Length; i++)
        {
            var s = segments[i];
            double start = s.GetProperty("start").GetDouble(), end = s.GetProperty("end").GetDouble();
            // The VAD works on 32 ms windows and pads by 200 ms: each segment covers its sentence, and not much more.
            Assert.InRange(start, f.Speech[i].Start - 0.45, f.Speech[i].Start + 0.05);
            Assert.InRange(end, f.Speech[i].End - 0.05, f.Speech[i].End + 0.45);
            long first = s.GetProperty("audio_samples")[0].GetInt64(), count = s.GetProperty("audio_samples")[1].GetInt64();
            Assert.Equal((long)Math.Round(start * 16000), first);
            Assert.Equal((long)Math.Round(end * 16000) - first, count);
            long frame = s.GetProperty("video_frames")[0].GetInt64(), frames = s.GetProperty("video_frames")[1].GetInt64();
            Assert.Equal((long)Math.Ceiling(start * 25 - 1e-9), frame);
            Assert.Equal((long)Math.Ceiling(end * 25 - 1e-9) - frame, frames);
            // Every pooled token goes to top-2 experts: audio keeps max(floor(50 t), 25) Whisper states, pooled by 4; video frames pooled by 2.
            int audioTokens = Math.Max((int)Math.Floor(count / 16000.0 * 50), 25) / 4;
            Assert.Equal(2 * audioTokens, s.GetProperty("experts").GetProperty("audio").EnumerateArray().Sum(e => e.GetInt32()));
            Assert.Equal(2 * (int)(frames / 2), s.GetProperty("experts").GetProperty("video").EnumerateArray().Sum(e => e.GetInt32()));
            int tokens = s.GetProperty("tokens").GetArrayLength();
            Assert.InRange(tokens, 0, 96);
            Assert.True(s.GetProperty("avg_logprob").GetDouble() < 0);
            foreach (string stage in new[] { "front_end", "encoders", "projector", "prefill", "generation" })
            {
                Assert.True(s.GetProperty("timings_ms").GetProperty(stage).GetDouble() >= 0);
            }
        }
        Assert.True(segments[0].GetProperty("end").GetDouble() <= segments[1].GetProperty("start").GetDouble());
        Assert.Equal(f.Duration, root.GetProperty("duration_seconds").GetDouble(), 1);
        Assert.True(root.GetProperty("timings_ms").GetProperty("media").GetDouble() > 0);
        Assert.True(root.GetProperty("rtf").GetDouble() > 0);
        Assert.True(root.GetProperty("peak_memory_bytes").GetInt64() > 10_000_000);
    }

    [Fact]
    public void Transcribe_Formats_TextSrtVtt_CarryTheSameSegmentsAsJson()
    {
        var json = Json(Transcribe("--input", f.Clip, "--format", "json").Out).GetProperty("segments").EnumerateArray().ToArray();
        string text = Transcribe("--input", f.Clip, "--format", "text").Out;
        Assert.Equal(json.Select(s => s.GetProperty("text").GetString()!.ReplaceLineEndings(" ")), text.Split('\n')[..^1]);
        string srt = Transcribe("--input", f.Clip, "--format", "srt").Out;
        string vtt = Transcribe("--input", f.Clip, "--format", "vtt").Out;
        Assert.StartsWith("WEBVTT\n\n", vtt, StringComparison.Ordinal);
        int cue = 1;
        foreach (var s in json.Where(s => s.GetProperty("text").GetString()!.Length > 0))
        {
            double start = s.GetProperty("start").GetDouble(), end = s.GetProperty("end").GetDouble();
            Has($"{cue}\n{TranscriptWriter.Timestamp(start, srt: true)} --> {TranscriptWriter.Timestamp(end, srt: true)}\n", srt);
            Has($"{TranscriptWriter.Timestamp(start, srt: false)} --> {TranscriptWriter.Timestamp(end, srt: false)}\n", vtt);
            cue++;
        }
        Assert.Equal("01:02:03,045", TranscriptWriter.Timestamp(3723.045, srt: true));
        Assert.Equal("00:00:09.999", TranscriptWriter.Timestamp(9.9994, srt: false));
    }

    [Fact]
    public void Transcribe_Auto_PicksTheTaskFromTheStreams_AndSaysWhich()
    {
        var asr = Transcribe("--input", f.Wav, "--format", "json");
        Assert.True(asr.Code == 0, asr.Err);
        Has("task: asr (audio only)", asr.Err);
        Assert.Equal("asr", Json(asr.Out).GetProperty("task").GetString());
        Assert.False(Json(asr.Out).GetProperty("segments")[0].GetProperty("experts").TryGetProperty("video", out _));

        var vsr = Transcribe("--input", f.VideoOnly, "--format", "json");
        Assert.True(vsr.Code == 0, vsr.Err);
        Has("task: vsr (video only)", vsr.Err);
        Has("windows of at most 30 s", vsr.Err);
        var window = Assert.Single(Json(vsr.Out).GetProperty("segments").EnumerateArray());
        Assert.Equal(0, window.GetProperty("start").GetDouble());

        var avsr = Transcribe("--audio", f.Wav, "--video", f.VideoOnly, "--format", "json");
        Assert.True(avsr.Code == 0, avsr.Err);
        Has("task: avsr (audio and video present)", avsr.Err);

        // Asked for VSR on a clip with sound: the lips are read, the audio still finds the utterances.
        var lips = Transcribe("--input", f.Clip, "--task", "vsr", "--format", "json");
        Assert.True(lips.Code == 0, lips.Err);
        Assert.Equal(f.Speech.Length, Json(lips.Out).GetProperty("segments").GetArrayLength());
        Has("cut at the VAD's speech boundaries", lips.Err);
    }

    [Fact]
    public async Task Transcribe_VideoOnlyClip_RunsWithoutTheVadModel_WhichOnlySoundNeeds()
    {
        // The pack has an audio encoder, but a clip without sound gives the VAD nothing to hear: its model file is not needed.
        string missing = f.File("no-such-folder/silero_vad.onnx");
        TranscribeRequest Request(string clip) => new()
        {
            PackPath = f.Pack,
            Media = new MediaClipRequest { InputPath = clip },
            Models = new AvsrModelOptions { Threads = 1, VadModelPath = missing },
            Recognition = new RecognitionOptions { Beams = 1 },
        };
        var lips = await TranscribeCommand.RunAsync(Request(f.VideoOnly));
        Assert.Equal(AvsrTask.Vsr, lips.Task);
        Assert.Equal(0, Assert.Single(lips.Segments).Start);
        // With sound the VAD cuts the utterances, so its absence is still the error, naming the file.
        var e = await Assert.ThrowsAsync<EdgeAvsrException>(() => TranscribeCommand.RunAsync(Request(f.Clip)));
        Assert.Contains(missing, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Transcribe_OnATerminal_ShowsAProgressBar_OtherwiseNone()
    {
        // A clip over 10 s, run by the built CLI under script(1), which gives it a pseudo-terminal.
        string clip = f.File("long.mp4");
        if (!System.IO.File.Exists(clip))
        {
            Python.Script("Models/media/make_clip.py", "--text", "hello edge device", "--text", "captions on a kiosk", "--text", "the quick brown fox " +
                "jumps over the lazy dog",
                "--text", "one more sentence", "--gap", "1.2", "--out", clip);
        }
        string config = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
        string cli = Path.Combine(Tools.RepoRoot, "Runtime", "EdgeAvsr.Cli", "bin", config, "net10.0", "edgeavsr.dll");
        string stdout = f.File("tty-stdout.txt");
        string command = $"dotnet '{cli}' transcribe --model '{f.Pack}' --input '{clip}' --threads 1 --beams 1 --max-new-tokens 4 --out '{stdout}'";
        string terminal = Tools.Run("script", "-qec", command, "/dev/null");
        Has("100% 11/11 s", terminal);
        Has("[##############################]", terminal);
        // Redirected (as in every other test here): no bar at all.
        var plain = Transcribe("--input", f.Clip, "--max-new-tokens", "4");
        Assert.DoesNotContain("%", plain.Err, StringComparison.Ordinal);
        // One line per segment, as many as the sentences.
        Assert.Equal(4, System.IO.File.ReadAllText(stdout).Count(c => c == '\n'));
    }

    [Fact]
    public void Transcribe_BadRequests_AreOneLineErrors_WithExitCode2()
    {
        void Fails(string expected, params string[] args)
        {
            var (code, stdout, stderr) = Transcribe(args);
            Assert.Equal(ExitCodes.InvalidInput, code);
            Assert.Equal("", stdout);
            Has(expected, stderr);
        }
        Fails("--task avsr needs video; the input has audio only", "--input", f.Wav, "--task", "avsr");
        Fails("--task asr needs audio; the input has video only", "--input", f.VideoOnly, "--task", "asr");
        Fails("give --input, or --audio and/or --video, not both", "--input", f.Clip, "--audio", f.Wav);
        Fails("no media", "--format", "json");
        Fails($"{f.File("nope.mp4")}: file not found", "--input", f.File("nope.mp4"));
        Fails("--format 'doc' is not text, json, srt or vtt", "--input", f.Clip, "--format", "doc");
        var missing = CliHarness.Edgeavsr("transcribe", "--model", f.File("no-pack"), "--input", f.Clip);
        Assert.Equal(ExitCodes.InvalidInput, missing.Code);
        Has("no such model pack folder", missing.Err);
        string notMedia = f.File("notes.mp4");
        System.IO.File.WriteAllText(notMedia, "not a video");
        Fails(notMedia, "--input", notMedia);

        // A pack whose projector file was changed: sizes still match, the hash does not.
        using var dir = new TempDir();
        string pack = f.Parts.Build(dir);
        string projector = Path.Combine(pack, "projector.safetensors");
        byte[] bytes = System.IO.File.ReadAllBytes(projector);
        bytes[^1] ^= 0x5A;
        System.IO.File.WriteAllBytes(projector, bytes);
        var (code, _, err) = CliHarness.Edgeavsr("transcribe", "--model", pack, "--input", f.Clip, "--verify", "--threads", "1");
        Assert.Equal(ExitCodes.InvalidInput, code);
        Has($"{projector}: SHA-256", err);

        // An audio encoder narrower than the projector expects.
        using var dir2 = new TempDir();
        string narrow = f.Parts.Build(dir2, m => m with { AudioEncoder = m.AudioEncoder! with { OutputDim = 32 } }, audioEncoder: "audio.onnx");
        var wrong = CliHarness.Edgeavsr("transcribe", "--model", narrow, "--input", f.Clip, "--threads", "1");
        Assert.Equal(ExitCodes.InvalidInput, wrong.Code);
        Has("audio encoder output width is 64, the manifest says 32", wrong.Err);
    }

    [Fact]
    public async Task Pipeline_OnAVirtualClock_GivesTranscribesFinals_AndPartialsAtLeastOncePerSecondOfStream()
    {
        var transcript = await TranscribeCommand.RunAsync(new TranscribeRequest
        {
            PackPath = f.Pack,
            Media = new MediaClipRequest { InputPath = f.Clip },
            Models = new AvsrModelOptions { Threads = 1 },
            Recognition = new RecognitionOptions { Beams = 1 },
        });
        MediaFileSource Clip() => new(new MediaClipRequest { InputPath = f.Clip }, wantAudio: true, wantVideo: true);
        var streams = new MediaStreams(HasAudio: true, HasVideo: true);
        using var models = Load();
        // Encoders and decoder on the CPU take turns by default; letting them overlap must not change a caption.
        Assert.False(new AvsrPipeline(models, AvsrTask.Avsr, streams).OverlapsEncodersAndDecoder);
        foreach (var (chunk, overlap) in new[] { (0.1, (bool?)null), (0.37, true) })
        {
            var pipeline = new AvsrPipeline(models, AvsrTask.Avsr, streams,
                new AvsrPipelineOptions { Recognition = new RecognitionOptions { Beams = 1 }, OverlapEncodersAndDecoder = overlap });
            Assert.Equal(overlap ?? false, pipeline.OverlapsEncodersAndDecoder);
            var captions = new List<Caption>();
            await foreach (var c in pipeline.RunAsync(Clip().ReadAsync(TimeSpan.FromSeconds(chunk))))
            {
                captions.Add(c);
            }
            var finals = captions.Where(c => c.IsFinal).ToList();
            Assert.Equal(transcript.Segments.Select(s => (s.Start, s.End, s.Text)), finals.Select(c => (c.Start, c.End, c.Text)));
            Assert.Equal(transcript.Segments.Select(s => s.Tokens), finals.Select(c => c.Tokens));
            foreach (var final in finals)
            {
                // Partials and the final of one utterance, in stream order: no gap of more than 1 s of stream time
                // (plus one chunk and one VAD window of granularity) from the first partial to the final.
                var events = captions.Where(c => c.Utterance == final.Utterance).ToList();
                Assert.Same(final, events[^1]);
                Assert.True(events.Count >= 2, $"utterance {final.Utterance} ({final.Start}-{final.End} s) had no partial caption");
                Assert.True(events[0].DecidedAt - final.Start <= 1.0 + chunk + 0.032 + 1e-6, $"first partial at {events[0].DecidedAt} s, utterance " +
                    $"from {final.Start} s");
                for (int i = 1; i < events.Count; i++)
                {
                    double gap = events[i].DecidedAt - events[i - 1].DecidedAt;
                    Assert.True(gap <= 1.0 + chunk + 0.032 + 1e-6, $"chunk {chunk}: captions at {events[i - 1].DecidedAt} and {events[i].DecidedAt} s");
                }
                Assert.All(events[..^1], p => Assert.False(p.IsFinal));
                Assert.All(events[..^1], p => Assert.Equal(final.Start, p.Start));
            }
        }
        // The live policy may skip partials, never a final: the same finals, and no more partials than computing all of them.
        var live = new AvsrPipeline(models, AvsrTask.Avsr, streams, new AvsrPipelineOptions { Recognition = new RecognitionOptions { Beams = 1 },
            SkipPartialsWhenBusy = true });
        var liveCaptions = new List<Caption>();
        await foreach (var c in live.RunAsync(Clip().ReadAsync(TimeSpan.FromSeconds(0.1))))
        {
            liveCaptions.Add(c);
        }
        Assert.Equal(transcript.Segments.Select(s => (s.Start, s.End, s.Text)), liveCaptions.Where(c => c.IsFinal).Select(c => (c.Start, c.End, c.Text)));
        Assert.All(liveCaptions.Where(c => !c.IsFinal), p => Assert.Contains(liveCaptions, c => c.IsFinal && c.Utterance == p.Utterance));
        output.WriteLine($"live policy: {liveCaptions.Count(c => !c.IsFinal)} partials delivered, {live.PartialsDropped} skipped");
    }

    [Fact]
    public async Task Pipeline_SlowConsumer_StopsPullingTheSource_AndCancellationEndsIt()
    {
        // 60 s of continuous "video" (no audio: no VAD, windows with a partial every second): far more work than the queues hold.
        var crops = new GrayFrames(new byte[MouthRoi.CropSize * MouthRoi.CropSize], 1, MouthRoi.CropSize, MouthRoi.CropSize);
        int pulled = 0;
        async IAsyncEnumerable<MediaChunk> Source([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken token = default)
        {
            for (int frame = 0; frame < 60 * 25; frame++)
            {
                token.ThrowIfCancellationRequested();
                Interlocked.Increment(ref pulled);
                yield return new VideoChunk(TimeSpan.FromSeconds(frame / 25.0), crops);
                await Task.Yield();
            }
        }
        using var models = Load();
        var pipeline = new AvsrPipeline(models, AvsrTask.Vsr, new MediaStreams(false, true), new AvsrPipelineOptions
        {
            Recognition = new RecognitionOptions { Beams = 1, MaxNewTokens = 4 },
        });
        using var cts = new CancellationTokenSource();
        await using var captions = pipeline.RunAsync(Source(), cts.Token).GetAsyncEnumerator();
        Assert.True(await captions.MoveNextAsync());
        // Stop reading. The stages fill their bounded queues and the source stops being pulled.
        int last = -1;
        for (int i = 0; i < 200 && Volatile.Read(ref pulled) != last; i++)
        {
            last = Volatile.Read(ref pulled);
            await Task.Delay(300);
        }
        output.WriteLine($"source pulled {last} of {60 * 25} frames after the consumer took one caption");
        // Four queues of 2 plus one item in each stage: about 13 partials (one per second of stream) ahead of the consumer.
        Assert.True(last < 20 * 25, $"the source was pulled {last} frames ahead of a consumer that took one caption");
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            while (await captions.MoveNextAsync())
            {
            }
        });
    }

    [Fact]
    public async Task Pipeline_AudioDropout_CutsAsIfTheSilenceHadArrived()
    {
        // A 2 s jump in the audio stamps between the sentences (a microphone dropout) must cut and caption exactly as
        // the same stream with those 2 s of silence sent: the VAD has to count the gap, not only the samples it got.
        float[] samples = Resampler.To(AudioLoader.Load(f.Wav), StreamClock.SampleRate).Samples;
        const int chunk = 1600;
        const double dropout = 2.0;
        double middle = (f.Speech[0].End + f.Speech[1].Start) / 2;
        int gapChunk = (int)(middle * StreamClock.SampleRate / chunk);
        int dropoutChunks = (int)(dropout * StreamClock.SampleRate / chunk);
        async IAsyncEnumerable<MediaChunk> Source(bool sendSilence)
        {
            for (int i = 0, start = 0; start < samples.Length; i++, start += chunk)
            {
                if (i == gapChunk && sendSilence)
                {
                    for (int j = 0; j < dropoutChunks; j++)
                    {
                        yield return new AudioChunk(TimeSpan.FromSeconds((double)(start + j * chunk) / StreamClock.SampleRate), new float[chunk]);
                    }
                }
                double at = (double)start / StreamClock.SampleRate + (i >= gapChunk ? dropout : 0);
                yield return new AudioChunk(TimeSpan.FromSeconds(at), samples[start..Math.Min(samples.Length, start + chunk)]);
                await Task.Yield();
            }
        }
        using var models = Load();
        async Task<List<Caption>> Finals(bool sendSilence)
        {
            var pipeline = new AvsrPipeline(models, AvsrTask.Asr, new MediaStreams(true, false),
                new AvsrPipelineOptions { Recognition = new RecognitionOptions { Beams = 1 } });
            var finals = new List<Caption>();
            await foreach (var c in pipeline.RunAsync(Source(sendSilence)))
            {
                if (c.IsFinal)
                {
                    finals.Add(c);
                }
            }
            return finals;
        }
        var sent = await Finals(sendSilence: true);
        var dropped = await Finals(sendSilence: false);
        Assert.Equal(f.Speech.Length, sent.Count);
        // The second sentence sits 2 s later in stream time than in the file (make_clip's spans are the truth).
        Assert.InRange(sent[1].Start, f.Speech[1].Start + dropout - 0.3, f.Speech[1].Start + dropout + 0.05);
        Assert.Equal(sent.Select(c => (c.Start, c.End, c.Text)), dropped.Select(c => (c.Start, c.End, c.Text)));
        Assert.Equal(sent.Select(c => c.Tokens), dropped.Select(c => c.Tokens));
    }

    [Fact]
    public async Task FileSource_StreamsTheSameSamplesAndFrames_AsTheWholeFileFrontEnd()
    {
        // A 44.1 kHz stereo AAC track beside the video: the streaming resampler must match the whole-file one bit for bit.
        string stereo = f.File("stereo.mkv");
        if (!System.IO.File.Exists(stereo))
        {
            Tools.Run("ffmpeg", "-v", "error", "-i", f.VideoOnly, "-i", f.Wav, "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-ar",
                "44100", "-ac", "2", stereo);
        }
        foreach (string path in new[] { f.Clip, stereo, f.Wav })
        {
            var request = new MediaClipRequest { InputPath = path };
            // The whole-file front-end, as `features` and `frames` read a file: the reference for what is streamed.
            float[] wholeAudio = Resampler.To(AudioLoader.Load(path), 16000).Samples;
            bool hasVideo = MediaClip.Probe(request).HasVideo;
            byte[] wholeVideo = hasVideo ? MouthCropReader.LoadCrops(path, landmarkModel: null).Crops.Pixels : [];
            var source = new MediaFileSource(request, wantAudio: true, wantVideo: true);
            Assert.Equal(new MediaStreams(true, hasVideo), source.Streams);
            var audio = new List<float>();
            var pixels = new List<byte>();
            await foreach (var chunk in source.ReadAsync(TimeSpan.FromSeconds(0.3)))
            {
                if (chunk is AudioChunk a)
                {
                    Assert.Equal(audio.Count / 16000.0, a.Timestamp.TotalSeconds, 4);
                    audio.AddRange(a.Samples);
                }
                else if (chunk is VideoChunk v)
                {
                    Assert.Equal(pixels.Count / (96.0 * 96) / 25, v.Timestamp.TotalSeconds, 4);
                    pixels.AddRange(v.Crops.Pixels);
                }
            }
            Assert.Equal(wholeAudio.Length, audio.Count);
            Assert.True(wholeAudio.AsSpan().SequenceEqual(audio.ToArray()), $"{path}: streamed samples differ from the whole-file front-end");
            Assert.Equal(wholeVideo, pixels.ToArray());
            Assert.Equal(Math.Max(wholeAudio.Length / 16000.0, wholeVideo.Length / (96.0 * 96) / 25), source.DurationSeconds, 6);
            Assert.True(source.EstimatedDurationSeconds > 0);
        }
    }

    [Fact]
    public async Task FileSource_ProbesEachFileOnce()
    {
        var probes = new List<string>();
        async Task<MediaFileSource> Play(MediaClipRequest request)
        {
            probes.Clear();
            Ffmpeg.StartObserver.Value = (tool, path, args) =>
            {
                if (tool == "ffprobe")
                {
                    probes.Add(path);
                }
            };
            try
            {
                // What transcribe does: inspect, open, read everything.
                var source = new MediaFileSource(request, wantAudio: true, wantVideo: true, MediaClip.Inspect(request));
                await foreach (var _ in source.ReadAsync(TimeSpan.FromSeconds(0.5)))
                {
                }
                return source;
            }
            finally
            {
                Ffmpeg.StartObserver.Value = null;
            }
        }
        // One file carries both streams: it is probed once, not once per stream and once more for its duration.
        var clip = await Play(new MediaClipRequest { InputPath = f.Clip });
        Assert.Equal([f.Clip], probes);
        Assert.Equal(f.Duration, clip.EstimatedDurationSeconds, 1);
        // Two files: each is probed once, and the longer one is the estimate.
        var pair = await Play(new MediaClipRequest { AudioPath = f.Wav, VideoPath = f.VideoOnly });
        Assert.Equal([f.Wav, f.VideoOnly], probes);
        Assert.Equal(Math.Max(Ffmpeg.Inspect(f.Wav).DurationSeconds ?? 0, Ffmpeg.Inspect(f.VideoOnly).DurationSeconds ?? 0), pair.EstimatedDurationSeconds);
    }

    [Fact]
    public void TokenBudget_GrowsWithTheUtterance_UnlessGivenExplicitly()
    {
        using var models = Load();
        var byPack = new UtteranceRecognizer(models, AvsrTask.Avsr);
        Assert.Equal(96, byPack.MaxNewTokens);
        Assert.Equal(96, byPack.MaxNewTokensFor(3.0));
        Assert.Equal(180, byPack.MaxNewTokensFor(30.0));
        Assert.Equal(97, byPack.MaxNewTokensFor(16.1));
        var fixedBudget = new UtteranceRecognizer(models, AvsrTask.Avsr, new RecognitionOptions { MaxNewTokens = 8 });
        Assert.Equal(8, fixedBudget.MaxNewTokensFor(30.0));
    }

    [Fact]
    public void Decoder_ReusedForAShortThenALongPrompt_GrowsItsContext()
    {
        // The pipeline's partials grow one utterance's prompt second by second through one decoder.
        using var models = Load();
        var rng = new Random(5);
        FloatMatrix Rows(int n)
        {
            var m = new FloatMatrix(n, models.DecoderModel.InputWidth);
            for (int i = 0; i < m.Data.Length; i++)
            {
                m.Data[i] = (float)(rng.NextDouble() - 0.5);
            }
            return m;
        }
        foreach (int n in new[] { 12, 200, 40, 700 })
        {
            var prompt = DecoderPrompt.ForAvsr(models.DecoderModel, AvsrTask.Vsr, null, Rows(n));
            var result = models.Decoder.Generate(prompt, new GenerationOptions { MaxNewTokens = 3, StopAtEndOfGeneration = false });
            Assert.Equal(3, result.Tokens.Length);
            Assert.Equal(prompt.Length, result.Timings.PromptPositions);
        }
    }

    [Fact]
    public async Task Pipeline_BadChunks_SurfaceAsClearErrors()
    {
        using var models = Load();
        async IAsyncEnumerable<MediaChunk> Wrong()
        {
            yield return new VideoChunk(TimeSpan.Zero, new GrayFrames(new byte[64 * 64], 1, 64, 64));
            await Task.Yield();
        }
        var pipeline = new AvsrPipeline(models, AvsrTask.Vsr, new MediaStreams(false, true));
        var e = await Assert.ThrowsAsync<EdgeAvsrException>(async () =>
        {
            await foreach (var _ in pipeline.RunAsync(Wrong()))
            {
            }
        });
        Has("holds 64x64 frames; the pipeline takes 96x96 mouth crops", e.Message);
        Assert.Throws<EdgeAvsrException>(() => new AvsrPipeline(models, AvsrTask.Avsr, new MediaStreams(true, false)));
    }
}
