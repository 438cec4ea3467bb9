using System.Globalization;
using EdgeAvsr.Cli;
using EdgeAvsr.Runtime.Audio.Vad;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Runtime.Tests.Audio;

/// <summary>
/// Three espeak-ng sentences, each trimmed to its voiced extent by sox, joined by sox-made silences of known length
/// (0.5 s lead, 0.8 s and 1.2 s gaps, 0.5 s tail): the true speech boundaries are known to the sample.
/// </summary>
public sealed class SpokenSentences : IDisposable
{
    private static readonly string[] s_sentences =
    [
        "The quick brown fox jumps over the lazy dog.",
        "Speech recognition on the edge needs voice activity detection.",
        "Hello world.",
    ];

    private static readonly double[] s_gaps = [0.5, 0.8, 1.2, 0.5];

    private readonly TempDir _dir = new();

    public SpokenSentences()
    {
        var parts = new List<string>();
        var truth = new List<(double, double)>();
        double t = 0;
        for (int i = 0; i <= s_sentences.Length; i++)
        {
            string gap = _dir.File($"gap{i}.wav");
            Tools.Run("sox", "-n", "-r", "16000", "-c", "1", "-b", "16", gap, "trim", "0", s_gaps[i].ToString(CultureInfo.InvariantCulture));
            parts.Add(gap);
            t += s_gaps[i];
            if (i == s_sentences.Length)
            {
                break;
            }
            string raw = _dir.File($"raw{i}.wav"), speech = _dir.File($"s{i}.wav");
            Tools.Run("espeak-ng", "-s", "160", "-w", raw, s_sentences[i]);
            Tools.Run("sox", raw, "-r", "16000", "-c", "1", "-b", "16", speech, "silence", "1", "0.02", "1%", "reverse", "silence", "1", "0.02", "1%",
                "reverse");
            double length = VadAudioInput.Read(speech).Length / 16000.0;
            truth.Add((t, t + length));
            parts.Add(speech);
            t += length;
        }
        Path = _dir.File("sentences.wav");
        Tools.Run("sox", [.. parts, Path]);
        Truth = truth;
    }

    public string Path { get; }

    public IReadOnlyList<(double Start, double End)> Truth { get; }

    public string File(string name) => _dir.File(name);

    public void Dispose() => _dir.Dispose();
}

[Collection("console")]
public class VadTests(SpokenSentences audio) : IClassFixture<SpokenSentences>
{
    private static (int Code, string Out, string Err) Invoke(params string[] args) => CliHarness.Edgeavsr(args);

    [Fact]
    public void SileroVad_FindsEveryUtterance_BoundariesWithin150Ms()
    {
        var samples = VadAudioInput.Read(audio.Path);
        using var vad = SileroVad.Open();
        var segments = vad.Detect(samples);
        Assert.Equal(audio.Truth.Count, segments.Count);
        for (int i = 0; i < segments.Count; i++)
        {
            Assert.True(Math.Abs(segments[i].Start - audio.Truth[i].Start) <= 0.150, $"utterance {i}: start {segments[i].Start:F3} vs " +
                $"{audio.Truth[i].Start:F3}");
            Assert.True(Math.Abs(segments[i].End - audio.Truth[i].End) <= 0.150, $"utterance {i}: end {segments[i].End:F3} vs {audio.Truth[i].End:F3}");
        }
    }

    [Fact]
    public void SileroVad_RecurrentState_IsCarried_AndResetPerFile()
    {
        var samples = VadAudioInput.Read(audio.Path);
        using var vad = SileroVad.Open();
        var first = vad.Probabilities(samples, 512);
        var again = vad.Probabilities(samples, 512);
        Assert.Equal(first, again); // Probabilities starts from a fresh state each time.
        // Stepping one speech window repeatedly from the same state gives one value; carrying the state changes it.
        var window = samples.AsSpan(16000, 512).ToArray();
        var state = new SileroVadState();
        float p1 = vad.Step(window, state);
        float p2 = vad.Step(window, state);
        state.Reset();
        Assert.Equal(p1, vad.Step(window, state));
        Assert.Equal(p1, vad.Step(window, new SileroVadState()));
        Assert.NotEqual(p1, p2);
        Assert.Contains(first, p => p > 0.9f);
        Assert.True(first.Take(10).All(p => p < 0.2f), "leading 0.5 s silence is not speech");
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(5, 30)]
    [InlineData(7, 300)]
    public void Stream_InRandomPieces_GivesTheSegmentsOfTheWholeFile(int seed, int padMs)
    {
        var samples = VadAudioInput.Read(audio.Path);
        var options = new VadOptions { SpeechPadMs = padMs, MinSilenceMs = 150 };
        using var vad = SileroVad.Open();
        var whole = vad.Detect(samples, options);
        var stream = vad.OpenStream(options);
        var rng = new Random(seed);
        var streamed = new List<SpeechSegment>();
        var firstSeenAt = new List<long>();
        for (int at = 0; at < samples.Length;)
        {
            int n = Math.Min(samples.Length - at, rng.Next(1, 4000));
            var got = stream.Push(samples.AsSpan(at, n));
            streamed.AddRange(got);
            firstSeenAt.AddRange(got.Select(_ => stream.Samples));
            at += n;
        }
        streamed.AddRange(stream.Finish());
        Assert.Equal(whole, streamed);
        // Segments before the last one are reported while the audio is still coming, not at the end.
        Assert.True(firstSeenAt.Count >= whole.Count - 1);
        Assert.All(firstSeenAt, s => Assert.True(s < samples.Length));
    }

    [Fact]
    public void TwoStreams_OverOneModel_Interleaved_EachGiveTheSegmentsOfTheirFileAlone()
    {
        // A second file from the same sentences in another order, and a third for a Detect between the streams' chunks:
        // the kiosk's microphone and a file transcription share one loaded model.
        var first = VadAudioInput.Read(audio.Path);
        var second = ReorderedSentences();
        var third = VadAudioInput.Read(audio.File("s1.wav"));
        var options = new VadOptions { MinSilenceMs = 150 };
        using var vad = SileroVad.Open();
        var firstAlone = vad.Detect(first, options);
        var secondAlone = vad.Detect(second, options);
        var thirdAlone = vad.Detect(third, options);
        Assert.NotEqual(firstAlone, secondAlone);

        var firstStream = vad.OpenStream(options);
        var secondStream = vad.OpenStream(options);
        var firstSegments = new List<SpeechSegment>();
        var secondSegments = new List<SpeechSegment>();
        var rng = new Random(11);
        int firstAt = 0, secondAt = 0;
        bool detectedBetween = false;
        while (firstAt < first.Length || secondAt < second.Length)
        {
            if (firstAt < first.Length)
            {
                int n = Math.Min(first.Length - firstAt, rng.Next(1, 3000));
                firstSegments.AddRange(firstStream.Push(first.AsSpan(firstAt, n)));
                firstAt += n;
            }
            if (secondAt < second.Length)
            {
                int n = Math.Min(second.Length - secondAt, rng.Next(1, 3000));
                secondSegments.AddRange(secondStream.Push(second.AsSpan(secondAt, n)));
                secondAt += n;
            }
            if (!detectedBetween && firstAt > first.Length / 2)
            {
                Assert.Equal(thirdAlone, vad.Detect(third, options));
                detectedBetween = true;
            }
        }
        firstSegments.AddRange(firstStream.Finish());
        secondSegments.AddRange(secondStream.Finish());
        Assert.True(detectedBetween);
        Assert.Equal(firstAlone, firstSegments);
        Assert.Equal(secondAlone, secondSegments);
    }

    [Fact]
    public async Task TwoStreams_OverOneModel_OnTwoThreads_EachGiveTheSegmentsOfTheirFileAlone()
    {
        var first = VadAudioInput.Read(audio.Path);
        var second = ReorderedSentences();
        var options = new VadOptions { MinSilenceMs = 150 };
        using var vad = SileroVad.Open();
        var firstAlone = vad.Detect(first, options);
        var secondAlone = vad.Detect(second, options);
        // Each thread pushes a chunk, then waits for the other: the streams run side by side, not one after the other.
        using var inStep = new Barrier(2);
        List<SpeechSegment> Streamed(float[] samples)
        {
            var stream = vad.OpenStream(options);
            var segments = new List<SpeechSegment>();
            for (int at = 0; at < samples.Length; at += 1000)
            {
                segments.AddRange(stream.Push(samples.AsSpan(at, Math.Min(1000, samples.Length - at))));
                inStep.SignalAndWait();
            }
            inStep.RemoveParticipant();
            segments.AddRange(stream.Finish());
            return segments;
        }
        var both = await Task.WhenAll(Task.Run(() => Streamed(first)), Task.Run(() => Streamed(second)));
        Assert.Equal(firstAlone, both[0]);
        Assert.Equal(secondAlone, both[1]);
    }

    /// <summary>The last and first sentences, in that order, with the fixture's silences: other speech at other times.</summary>
    private float[] ReorderedSentences()
    {
        using var dir = new TempDir();
        string reordered = dir.File("reordered.wav");
        Tools.Run("sox", audio.File("gap0.wav"), audio.File("s2.wav"), audio.File("gap2.wav"), audio.File("s0.wav"), audio.File("gap3.wav"), reordered);
        return VadAudioInput.Read(reordered);
    }

    [Fact]
    public void Cli_Vad_PrintsSegments_AndHonoursTheOptions()
    {
        var (code, stdout, stderr) = Invoke("vad", "--audio", audio.Path);
        Assert.True(code == 0, stderr);
        var lines = stdout.TrimEnd().Split('\n');
        Assert.Contains("3 speech segment(s)", lines[0], StringComparison.Ordinal);
        Assert.Equal(4, lines.Length);
        var first = lines[1].Split('\t').Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        Assert.True(Math.Abs(first[0] - audio.Truth[0].Start) <= 0.150);

        // A minimum speech length above the short "Hello world." drops it; a 2 s minimum silence is longer than
        // both gaps (0.8 and 1.2 s), so all three sentences join into one segment.
        var (_, shortDropped, _) = Invoke("vad", "--audio", audio.Path, "--min-speech-ms", "1500");
        Assert.Contains("2 speech segment(s)", shortDropped, StringComparison.Ordinal);
        var (_, merged, _) = Invoke("vad", "--audio", audio.Path, "--min-silence-ms", "2000");
        Assert.Contains("1 speech segment(s)", merged, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("empty", "zero-length audio")]
    [InlineData("text", "cannot decode it")]
    [InlineData("threshold", "VAD threshold 1.5 must be between 0 and 1")]
    [InlineData("window", "Silero takes 512, 1024 or 1536")]
    [InlineData("model", "not the Silero VAD")]
    public void Cli_Vad_BadInput_Exit2(string kind, string expected)
    {
        using var dir = new TempDir();
        string input = audio.Path;
        var extra = new List<string>();
        switch (kind)
        {
            case "empty":
                input = dir.File("empty.npy");
                NpyFile.Write(input, Array.Empty<float>(), 0);
                break;
            case "text":
                input = dir.File("x.wav");
                File.WriteAllText(input, "no audio here");
                break;
            case "threshold":
                extra.AddRange(["--threshold", "1.5"]);
                break;
            case "window":
                extra.AddRange(["--window", "400"]);
                break;
            case "model":
                string tiny = dir.File("other.onnx");
                Python.Run($$"""
                    import onnx
                    from onnx import helper, TensorProto
                    g = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
                    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]); m.ir_version = 8
                    onnx.save(m, r"{{tiny}}")
                    """);
                extra.AddRange(["--model", tiny]);
                break;
        }
        var (code, _, stderr) = Invoke(["vad", "--audio", input, .. extra]);
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
        Assert.Single(stderr.TrimEnd().Split('\n'));
    }

    [Fact]
    public void Cli_Vad_OtherRatesAndContainers_AreResampled_AndFindTheSameSpeech()
    {
        // sox makes a 44.1 kHz stereo WAV and ffmpeg an AAC-in-MP4 of the same sentences: the VAD finds the same segments.
        using var dir = new TempDir();
        string stereo = dir.File("44k.wav"), m4a = dir.File("speech.m4a");
        Tools.Run("sox", audio.Path, "-r", "44100", "-c", "2", stereo);
        Tools.Run("ffmpeg", "-v", "error", "-i", audio.Path, "-c:a", "aac", "-b:a", "96k", m4a);
        string Segments(string path)
        {
            var (code, stdout, stderr) = Invoke("vad", "--audio", path);
            Assert.True(code == 0, stderr);
            return stdout;
        }
        var reference = Lines(Segments(audio.Path));
        foreach (string other in new[] { stereo, m4a })
        {
            var lines = Lines(Segments(other));
            Assert.Equal(reference.Length, lines.Length);
            for (int i = 0; i < lines.Length; i++)
            {
                for (int j = 0; j < 2; j++)
                {
                    Assert.True(Math.Abs(lines[i][j] - reference[i][j]) <= 0.07, $"{other}: segment {i} {lines[i][0]}-{lines[i][1]} vs " +
                        $"{reference[i][0]}-{reference[i][1]}");
                }
            }
        }

        static double[][] Lines(string stdout) => [.. stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(l => l.Split('\t').Take(2).Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray())];
    }

    [Fact]
    public void VadAudioInput_ReadsPcm16FloatWavAndNpy_Alike()
    {
        using var dir = new TempDir();
        string pcm = audio.File("s2.wav"), flt = dir.File("f.wav"), npy = dir.File("x.npy");
        Tools.Run("sox", pcm, "-e", "floating-point", "-b", "32", flt);
        var a = VadAudioInput.Read(pcm);
        var b = VadAudioInput.Read(flt);
        Assert.Equal(a.Length, b.Length);
        for (int i = 0; i < a.Length; i++)
        {
            Assert.Equal(a[i], b[i], 6);
        }
        NpyFile.Write(npy, a, a.Length);
        Assert.Equal(a, VadAudioInput.Read(npy));
        Assert.Contains(a, x => Math.Abs(x) > 0.1f);
    }

    [Fact]
    public void Segmenter_FollowsTheRule_OnKnownProbabilities()
    {
        // 512-sample windows (32 ms). Speech in windows 10..29 with one dip at 15..16 (64 ms < 100 ms min silence),
        // then 40..44 (160 ms < 250 ms min speech: dropped), then 60..end.
        var p = new float[80];
        for (int i = 10; i < 30; i++) p[i] = 0.9f;
        p[15] = p[16] = 0.1f;
        for (int i = 40; i < 45; i++) p[i] = 0.9f;
        for (int i = 60; i < 80; i++) p[i] = 0.8f;
        p[70] = 0.4f; // between negative (0.35) and positive: neither ends nor starts speech
        var segs = VadSegmenter.Segments(p, 80 * 512, new VadOptions());
        Assert.Equal(2, segs.Count);
        double w = 512 / 16000.0, pad = 0.030;
        Assert.Equal(10 * w - pad, segs[0].Start, 6);
        Assert.Equal(30 * w + pad, segs[0].End, 6);
        Assert.Equal(60 * w - pad, segs[1].Start, 6);
        Assert.Equal(80 * w, segs[1].End, 6); // runs to the end of the audio, clamped
        var strict = VadSegmenter.Segments(p, 80 * 512, new VadOptions { MinSilenceMs = 0, SpeechPadMs = 0, MinSpeechMs = 0 });
        Assert.Equal(4, strict.Count); // the dip splits, the short burst is kept
        // Padding larger than half a gap meets in the middle: the 64 ms dip is shared 32/32 ms.
        var wide = VadSegmenter.Segments(p, 80 * 512, new VadOptions { MinSilenceMs = 0, SpeechPadMs = 100, MinSpeechMs = 0 });
        Assert.Equal(16 * w, wide[0].End, 6);
        Assert.Equal(16 * w, wide[1].Start, 6);
    }
}
