using System.Runtime.CompilerServices;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Pipeline;
using EdgeAvsr.Runtime.Video;
using EdgeAvsr.Tests.Shared;
using Xunit.Abstractions;

namespace EdgeAvsr.Runtime.Tests.Pipeline;

public class LiveCaptionerTests(LiveFixture f, ITestOutputHelper output) : IClassFixture<LiveFixture>
{
    private static readonly AvsrPipelineOptions Options = new() { Recognition = new RecognitionOptions { Beams = 1, MaxNewTokens = 8 } };
    private static readonly MediaStreams Both = new(true, true);
    private static readonly MediaStreams AudioOnly = new(true, false);

    private static long Boundary(double seconds) => LiveFixture.Boundary(seconds);

    private static TimeSpan At(long sample) => LiveFixture.At(sample);

    private List<MediaChunk> Chunks(long from, long to, bool audio, bool video, long restamp = 0) => f.Chunks(from, to, audio, video, restamp);

    private static IAsyncEnumerable<MediaChunk> Play(IEnumerable<MediaChunk> chunks, Func<MediaChunk, Task>? before = null) =>
        LiveFixture.Play(chunks, before);

    private static Task<List<Caption>> Collect(IAsyncEnumerable<Caption> captions) => LiveFixture.Collect(captions);

    private AvsrModels Load(string? pack = null) => AvsrModels.Load(pack ?? f.Pack, new AvsrModelOptions { Threads = 1 });

    /// <summary>A fixed-task AvsrPipeline over <paramref name="chunks"/> (stamped from 0): the independent reference.</summary>
    private static Task<List<Caption>> Reference(AvsrModels models, AvsrTask task, MediaStreams streams, List<MediaChunk> chunks) =>
        Collect(new AvsrPipeline(models, task, streams, Options).RunAsync(Play(chunks)));

    /// <summary>What is compared: everything but timings, logits and experts; stream positions in samples and frames.</summary>
    private static string Key(Caption c, long shift = 0, int idOffset = 0) =>
        $"u{c.Utterance + idOffset} {(c.IsFinal ? "final" : "partial")} {c.Task.ToText()} " +
        $"[{Math.Round(c.Start * 16000) + shift}-{Math.Round(c.End * 16000) + shift} @{Math.Round(c.DecidedAt * 16000) + shift}] " +
        $"a{(c.AudioSamples.Count == 0 ? "-" : $"{c.AudioSamples.First + shift}+{c.AudioSamples.Count}")} " +
        $"v{(c.VideoFrames.Count == 0 ? "-" : $"{c.VideoFrames.First + shift / StreamClock.SamplesPerFrame}+{c.VideoFrames.Count}")} " +
        $"'{c.Text}' {string.Join(',', c.Tokens)}";

    private static IEnumerable<string> Keys(IEnumerable<Caption> captions, long shift = 0, int idOffset = 0) => captions.Select(c => Key(c, shift, idOffset));

    private static int NextId(IReadOnlyList<Caption> captions) => captions.Count == 0 ? 0 : captions.Max(c => c.Utterance) + 1;

    [Fact]
    public async Task Switching_AvsrAsrAvsr_GivesPerSegment_TheCaptionsOfFixedTaskPipelinesOnThatMedia()
    {
        // Camera lost in the pause after the first sentence, back in the middle of the third: the utterance in progress there ends as an
        // ASR final and the rest of the sentence starts a new AVSR utterance.
        long b1 = Boundary(f.Speech[0].End + 1.0), b2 = Boundary((f.Speech[2].Start + f.Speech[2].End) / 2), end = f.End;
        using var models = Load();
        var first = await Reference(models, AvsrTask.Avsr, Both, Chunks(0, b1, true, true));
        var second = await Reference(models, AvsrTask.Asr, AudioOnly, Chunks(b1, b2, true, false, restamp: b1));
        var third = await Reference(models, AvsrTask.Avsr, Both, Chunks(b2, end, true, true, restamp: b2));
        foreach (var (segment, name) in new[] { (first, "first"), (second, "second"), (third, "third") })
        {
            Assert.True(segment.Count(c => c.IsFinal) >= 1, $"the {name} segment has no final: the test would prove nothing");
        }
        var expected = Keys(first).Concat(Keys(second, b1, NextId(first))).Concat(Keys(third, b2, NextId(first) + NextId(second))).ToList();

        var captioner = new LiveCaptioner(models, AvsrTask.Avsr, Both, Options);
        LiveStatus? duringAsr = null;
        var stream = Chunks(0, b1, true, true)
            .Append(new StreamStateChunk(At(b1), AudioOnly))
            .Concat(Chunks(b1, b2, true, false))
            .Append(new StreamStateChunk(At(b2), Both))
            .Concat(Chunks(b2, end, true, true)).ToList();
        var live = await Collect(captioner.RunAsync(Play(stream, chunk =>
        {
            // The driver asks for the chunk after a state change only once it has acted on it.
            if (chunk.Timestamp == At(b1 + LiveFixture.Step) && chunk is AudioChunk)
            {
                duringAsr = captioner.Status;
            }
            return Task.CompletedTask;
        })));
        Assert.Equal(expected, Keys(live));

        Assert.NotNull(duringAsr);
        Assert.Equal(AvsrTask.Asr, duringAsr.Task);
        Assert.Equal(AudioOnly, duringAsr.Live);
        Assert.Equal("audio only live: avsr needs video", duringAsr.Reason);
        var status = captioner.Status;
        output.WriteLine($"{status}");
        Assert.Equal(AvsrTask.Avsr, status.Task);
        Assert.Null(status.Reason);
        Assert.Equal(2, status.Switches);
        Assert.Equal(new LiveSwitch(b2 / 16000.0, AvsrTask.Asr, AvsrTask.Avsr, "audio and video live again", status.LastSwitch!.FinalsFlushed, 0),
            status.LastSwitch);
        // The sentence running at the switch came out as the ASR pipeline's last final.
        Assert.InRange(status.LastSwitch.FinalsFlushed, 1, second.Count(c => c.IsFinal));
        Assert.Equal(live.Count(c => c.IsFinal), status.Utterances);
        Assert.Equal(live.Count(c => !c.IsFinal), status.Partials);
        Assert.Equal((0, 0L, 0, (string?)null), (status.Restarts, status.ChunksDropped, (int)status.PartialsDropped, status.LastFault));
        Assert.Equal(live.Count, status.Pipeline.Decode.Count);
        Assert.Equal(live.Count(c => c.IsFinal), status.Pipeline.FinalLatency.Count);
    }

    [Fact]
    public async Task CameraStopsMidUtterance_TheFinalComesFromTheMediaThatArrived_AtTheSwitch_ThenAsrGoesOn()
    {
        // No frames after v, in the third sentence; the source says so 1.2 s later. The AVSR pipeline must not wait for frames
        // that never come: at the switch its utterance in progress ends as a final with the audio to b and the video to v.
        long v = Boundary(f.Speech[2].Start + 0.6), b = v + 19200, end = f.End;
        var withoutCamera = Chunks(0, v, true, true).Concat(Chunks(v, b, true, false)).ToList();
        using var models = Load();
        var first = await Reference(models, AvsrTask.Avsr, Both, withoutCamera);
        var second = await Reference(models, AvsrTask.Asr, AudioOnly, Chunks(b, end, true, false, restamp: b));
        var cut = first.Last(c => c.IsFinal);
        Assert.Equal(v / StreamClock.SamplesPerFrame, cut.VideoFrames.First + cut.VideoFrames.Count);
        Assert.True(cut.AudioSamples.First + cut.AudioSamples.Count > v + 16000, $"the last AVSR final ends at sample {cut.End * 16000}");
        Assert.NotEmpty(second);

        var captioner = new LiveCaptioner(models, AvsrTask.Avsr, Both, Options);
        var stream = withoutCamera.Append(new StreamStateChunk(At(b), AudioOnly)).Concat(Chunks(b, end, true, false));
        var live = await Collect(captioner.RunAsync(Play(stream)));
        Assert.Equal(Keys(first).Concat(Keys(second, b, NextId(first))), Keys(live));
        var status = captioner.Status;
        Assert.Equal((AvsrTask?)AvsrTask.Asr, status.Task);
        Assert.Equal("audio only live: avsr needs video", status.Reason);
        Assert.Equal(new LiveSwitch(b / 16000.0, AvsrTask.Avsr, AvsrTask.Asr, "audio only live: avsr needs video", status.LastSwitch!.FinalsFlushed, 0),
            status.LastSwitch);
        Assert.InRange(status.LastSwitch.FinalsFlushed, 1, first.Count(c => c.IsFinal));
    }

    [Fact]
    public async Task CameraStopsBeforeAnUtterance_ItsAvsrFinalIsDroppedAtTheSwitch_AndSaidSo_AsrCaptionsTheRest()
    {
        // No frames after v, a second before the third sentence; the source says so only at b, in that sentence. The AVSR
        // pipeline has no frame of the utterance running at b: a file run fails there, a live run drops it and counts it.
        long v = Boundary(f.Speech[2].Start - 1.0), b = Boundary(f.Speech[2].Start + 0.6), end = f.End;
        var withoutCamera = Chunks(0, v, true, true).Concat(Chunks(v, b, true, false)).ToList();
        using var models = Load();
        var e = await Assert.ThrowsAsync<EdgeAvsrException>(() => Reference(models, AvsrTask.Avsr, Both, withoutCamera));
        Assert.Contains("has 0 video frames", e.Message, StringComparison.Ordinal);
        var fixedTask = new AvsrPipeline(models, AvsrTask.Avsr, Both, Options);
        var first = await Collect(fixedTask.RunAsync(Play(withoutCamera), new PipelineRun(DropFinalsWithoutVideo: true)));
        Assert.Equal(1, fixedTask.Health.FinalsDropped);
        Assert.DoesNotContain(first, c => c.End > f.Speech[2].Start);
        var second = await Reference(models, AvsrTask.Asr, AudioOnly, Chunks(b, end, true, false, restamp: b));

        var captioner = new LiveCaptioner(models, AvsrTask.Avsr, Both, Options);
        var stream = withoutCamera.Append(new StreamStateChunk(At(b), AudioOnly)).Concat(Chunks(b, end, true, false));
        var live = await Collect(captioner.RunAsync(Play(stream)));
        Assert.Equal(Keys(first).Concat(Keys(second, b, NextId(first))), Keys(live));
        var status = captioner.Status;
        // The finals the AVSR pipeline still had in its queues came out after the switch too (this source is faster than real time).
        Assert.Equal(new LiveSwitch(b / 16000.0, AvsrTask.Avsr, AvsrTask.Asr, "audio only live: avsr needs video", status.LastSwitch!.FinalsFlushed, 1),
            status.LastSwitch);
        Assert.InRange(status.LastSwitch.FinalsFlushed, 0, first.Count(c => c.IsFinal));
        Assert.Equal(1, status.Pipeline.FinalsDropped);
    }

    [Fact]
    public async Task MicrophoneStops_VsrTakesOver_WithTheFramesTheAvsrPipelineDidNotUse()
    {
        // Audio ends at a, in the pause after the first sentence; the source says so at b, 1.2 s later. The AVSR pipeline ends at a
        // (its stream is the audio), so the VSR pipeline starts there and must get the frames from a to b again.
        long a = Boundary(f.Speech[0].End + 0.6), b = a + 19200, end = f.End;
        var withoutMicrophone = Chunks(0, a, true, true).Concat(Chunks(a, b, false, true)).ToList();
        using var models = Load();
        var first = await Reference(models, AvsrTask.Avsr, Both, withoutMicrophone);
        var second = await Reference(models, AvsrTask.Vsr, new MediaStreams(false, true), Chunks(a, end, false, true, restamp: a));
        Assert.Contains(second, c => c.IsFinal);

        var captioner = new LiveCaptioner(models, AvsrTask.Avsr, Both, Options);
        var stream = withoutMicrophone.Append(new StreamStateChunk(At(b), new MediaStreams(false, true))).Concat(Chunks(b, end, false, true));
        var live = await Collect(captioner.RunAsync(Play(stream)));
        Assert.Equal(Keys(first).Concat(Keys(second, a, NextId(first))), Keys(live));
        var status = captioner.Status;
        Assert.Equal((AvsrTask?)AvsrTask.Vsr, status.Task);
        Assert.Equal("video only live: avsr needs audio", status.Reason);
        Assert.Equal(0, status.ChunksDropped);
    }

    [Fact]
    public async Task Pipeline_WithAVideoWait_DoesNotHoldUtterancesForFramesThatNeverCome()
    {
        // A source that never says its camera stopped: no frames after v (in the second sentence), the audio goes on, and the
        // source stays open until the second sentence's final arrives. Without a video wait the pipeline would hold that
        // final until the source ended; with it, the final comes with the frames that arrived, and the third sentence, which
        // has no video at all, is dropped and counted.
        long v = Boundary(f.Speech[1].Start + 0.4), end = f.End;
        var released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async IAsyncEnumerable<MediaChunk> Source()
        {
            foreach (var chunk in Chunks(0, v, true, true).Concat(Chunks(v, end, true, false)))
            {
                yield return chunk;
                await Task.Yield();
            }
            await released.Task.WaitAsync(TimeSpan.FromSeconds(120));
        }
        using var models = Load();
        var pipeline = new AvsrPipeline(models, AvsrTask.Avsr, Both, Options with { VideoWait = TimeSpan.FromSeconds(2) });
        var finals = new List<Caption>();
        await foreach (var caption in pipeline.RunAsync(Source()))
        {
            if (caption.IsFinal)
            {
                finals.Add(caption);
                if (caption.Start >= f.Speech[1].Start - 0.5)
                {
                    released.TrySetResult();
                }
            }
        }
        Assert.Equal(2, finals.Count);
        Assert.Equal(v / StreamClock.SamplesPerFrame, finals[1].VideoFrames.First + finals[1].VideoFrames.Count);
        Assert.InRange(finals[1].End, f.Speech[1].End - 0.05, f.Speech[1].End + 0.45);
        Assert.Equal(1, pipeline.Health.FinalsDropped);
    }

    [Fact]
    public async Task PackWithoutAsr_WaitsWhileTheCameraIsAway_SaysWhy_AndResumesAvsr()
    {
        using var dir = new TempDir();
        string pack = f.Parts.Build(dir, m => m with { Tasks = [AvsrTask.Avsr, AvsrTask.Vsr] });
        long b1 = Boundary(f.Speech[0].End + 1.0), b2 = Boundary(f.Speech[1].End + 1.0), end = f.End;
        using var models = Load(pack);
        var first = await Reference(models, AvsrTask.Avsr, Both, Chunks(0, b1, true, true));
        var third = await Reference(models, AvsrTask.Avsr, Both, Chunks(b2, end, true, true, restamp: b2));
        var gap = Chunks(b1, b2, true, false);
        var captioner = new LiveCaptioner(models, AvsrTask.Avsr, Both, Options);
        LiveStatus? waiting = null;
        var stream = Chunks(0, b1, true, true).Append(new StreamStateChunk(At(b1), AudioOnly)).Concat(gap)
            .Append(new StreamStateChunk(At(b2), Both)).Concat(Chunks(b2, end, true, true));
        var live = await Collect(captioner.RunAsync(Play(stream, chunk =>
        {
            if (chunk == gap[1])
            {
                waiting = captioner.Status;
            }
            return Task.CompletedTask;
        })));
        Assert.Equal(Keys(first).Concat(Keys(third, b2, NextId(first))), Keys(live));
        Assert.NotNull(waiting);
        Assert.Null(waiting.Task);
        Assert.Equal("audio only live: avsr needs video and the pack does not serve asr; waiting for video", waiting.Reason);
        var status = captioner.Status;
        Assert.Equal(AvsrTask.Avsr, status.Task);
        Assert.Equal(gap.Count, status.ChunksDropped);
        Assert.Equal(2, status.Switches);
        Assert.Equal((AvsrTask?)null, status.LastSwitch!.From);
    }

    [Fact]
    public async Task AStageThatThrows_IsRebuilt_AndTheStreamGoesOnFromTheNextChunk()
    {
        // The decoder "fails" on the first sentence's final once the source has reached `resume`, in the silence after it; the
        // source waits there until the failed pipeline has let go of everything, so the rebuilt one starts exactly at that chunk
        // and must caption the rest as a pipeline started there. (Throwing as soon as the final arrived let the driver rebuild
        // at whichever earlier chunk came next, a race that 2 of 5 CI runs lost.)
        long resume = Boundary(f.Speech[0].End + 1.6), end = f.End;
        var reachedResume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thrown = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int faults = 0;
        var faulty = Options with
        {
            StageProbe = (stage, span) =>
            {
                if (stage == PipelineStage.Decode && span.IsFinal && Interlocked.CompareExchange(ref faults, 1, 0) == 0)
                {
                    // Only silence lies between this final and `resume`: no job queues behind it while it waits.
                    Assert.True(reachedResume.Task.Wait(TimeSpan.FromSeconds(60)), "the source never reached the resume chunk");
                    thrown.SetResult();
                    throw new InvalidOperationException("injected decoder fault");
                }
            },
        };
        using var models = Load();
        var captioner = new LiveCaptioner(models, AvsrTask.Avsr, Both, faulty);
        var live = await Collect(captioner.RunAsync(Play(Chunks(0, end, true, true), async chunk =>
        {
            if (chunk.Timestamp == At(resume) && chunk is AudioChunk)
            {
                reachedResume.SetResult();
                await thrown.Task.WaitAsync(TimeSpan.FromSeconds(60));
                for (int i = 0; i < 600 && captioner.PipelinesRunning != 0; i++)
                {
                    await Task.Delay(50);
                }
                Assert.Equal(0, captioner.PipelinesRunning);
                Assert.Equal(0, captioner.Status.Pipeline.Queues.Capacity);
            }
        })));
        var before = live.Where(c => c.Utterance == 0).ToList();
        Assert.NotEmpty(before);
        Assert.All(before, c => Assert.False(c.IsFinal));
        var after = await Reference(models, AvsrTask.Avsr, Both, Chunks(resume, end, true, true, restamp: resume));
        Assert.Equal(Keys(after, resume, 1), Keys(live.Skip(before.Count)));
        var status = captioner.Status;
        Assert.Equal(1, status.Restarts);
        Assert.Equal("InvalidOperationException: injected decoder fault", status.LastFault);
        Assert.False(status.Stopped);
        Assert.Null(status.BackingOff);
    }

    [Fact]
    public async Task ModelFaults_AreNotRetriedForever_TheRunFailsWithTheLastOne()
    {
        var broken = Options with
        {
            StageProbe = (stage, span) =>
            {
                if (stage == PipelineStage.FrontEnd)
                {
                    throw new EdgeAvsrException($"injected model fault at {span.Start:0.##} s");
                }
            },
        };
        using var models = Load();
        var captioner = new LiveCaptioner(models, AvsrTask.Avsr, Both, broken, new LiveCaptionerOptions { FirstBackoff = TimeSpan.Zero,
            MaxBackoff = TimeSpan.Zero, MaxModelFaults = 3 });
        var e = await Assert.ThrowsAsync<EdgeAvsrException>(() => Collect(captioner.RunAsync(Play(Chunks(0, f.End, true, true)))));
        Assert.StartsWith("injected model fault", e.Message, StringComparison.Ordinal);
        var status = captioner.Status;
        Assert.True(status.Stopped);
        Assert.Equal(2, status.Restarts);
        Assert.Equal(e.Message, status.LastFault);
    }

    [Fact]
    public void Backoff_IsNoneForTheFirstFault_ThenDoubles_UpToTheMaximum()
    {
        var options = new LiveCaptionerOptions { FirstBackoff = TimeSpan.FromSeconds(0.5), MaxBackoff = TimeSpan.FromSeconds(3) };
        Assert.Equal(new[] { 0, 0.5, 1, 2, 3, 3 }, Enumerable.Range(1, 6).Select(streak => LiveCaptioner.Backoff(streak, options).TotalSeconds));
    }

    [Fact]
    public async Task Cancellation_FlushesTheUtteranceInProgress_AndEndsWithoutAnError()
    {
        // The source stops delivering in the middle of the second sentence and waits, as a device does; cancelling then must give that
        // sentence's final from what arrived: exactly what a pipeline whose source ended there gives.
        long cut = Boundary((f.Speech[1].Start + f.Speech[1].End) / 2);
        using var models = Load();
        var expected = await Reference(models, AvsrTask.Avsr, Both, Chunks(0, cut, true, true));
        Assert.True(expected[^1].IsFinal && expected[^1].End * 16000 >= cut - 1, "the reference's last final is not the cut sentence");
        using var cts = new CancellationTokenSource();
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async IAsyncEnumerable<MediaChunk> Device([EnumeratorCancellation] CancellationToken token = default)
        {
            foreach (var chunk in Chunks(0, cut, true, true))
            {
                yield return chunk;
                await Task.Yield();
            }
            reached.SetResult();
            await Task.Delay(Timeout.Infinite, token);
        }
        var captioner = new LiveCaptioner(models, AvsrTask.Avsr, Both, Options);
        var run = Collect(captioner.RunAsync(Device(), cts.Token));
        await reached.Task.WaitAsync(TimeSpan.FromSeconds(120));
        await cts.CancelAsync();
        var live = await run;
        Assert.Equal(Keys(expected), Keys(live));
    }

    [Fact]
    public void Trim_KeepsTheSamplesAndFramesFromTheStart_ExactlyAndRestamped()
    {
        var samples = Enumerable.Range(0, 1600).Select(i => (float)i).ToArray();
        var audio = new AudioChunk(At(3200), samples);
        Assert.Same(audio, LiveCaptioner.Trim(audio, 3200));
        var cut = Assert.IsType<AudioChunk>(LiveCaptioner.Trim(audio, 3200 + 1000));
        Assert.Equal(At(4200), cut.Timestamp);
        Assert.Equal(samples[1000..], cut.Samples);
        Assert.Null(LiveCaptioner.Trim(audio, 4800));
        var pixels = Enumerable.Range(0, 4 * LiveFixture.FrameBytes).Select(i => (byte)(i / LiveFixture.FrameBytes)).ToArray();
        var video = new VideoChunk(At(10 * 640), new GrayFrames(pixels, 4, MouthRoi.CropSize, MouthRoi.CropSize));
        // Sample 11.5 frames in: the first whole frame from there is frame 12.
        var frames = Assert.IsType<VideoChunk>(LiveCaptioner.Trim(video, 11 * 640 + 320));
        Assert.Equal(At(12 * 640), frames.Timestamp);
        Assert.Equal(2, frames.Crops.Count);
        Assert.Equal(pixels[(2 * LiveFixture.FrameBytes)..], frames.Crops.Pixels);
        Assert.Null(LiveCaptioner.Trim(video, 14 * 640));
    }
}
