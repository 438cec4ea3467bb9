using System.Text.Json;
using EdgeAvsr.Quantize.Conversion;
using EdgeAvsr.Quantize.Pack;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Projector;
using EdgeAvsr.Runtime.Tests.Pack;
using EdgeAvsr.Synthetic;

namespace EdgeAvsr.Runtime.Tests.EndToEnd;

/// <summary>
/// Made once for the end-to-end tests: the tiny synthetic Llama-SMoP checkpoint (the tiny encoders <see cref="PackParts"/>
/// exported with Models/encoders/export_encoder.py, then <see cref="SyntheticCheckpoint"/> with its HF base directory and train
/// config), two packs built from it (fp32 projector + F32 GGUF; INT8 projector + Q8_0 GGUF), an audio-only and a
/// video-only checkpoint of the same seed with their fp32 packs (a pack serves the tasks its training modality gives:
/// ASR, VSR), and a real clip from Models/media/make_clip.py (espeak-ng speech, a mouth video, H.264 + AAC MP4): two
/// short sentences, one segment.
/// </summary>
public sealed class ReferencePackFixture : IDisposable
{
    public const string ReferenceScript = "Models/reference/avsr_reference.py";

    /// <summary>Generated tokens per run: enough to compare a sequence, few enough to keep the folder fast.</summary>
    public const int MaxNewTokens = 12;

    private readonly TempDir _dir = new();
    private readonly Dictionary<string, ReferenceRun> _segmentRuns = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TranscribeRun> _transcripts = new(StringComparer.Ordinal);
    private ReferenceRun? _wholeClip;
    private ReferenceRun? _loraTrap;

    public ReferencePackFixture()
    {
        // Seed 5: a random tiny Llama soon repeats one token; with this seed the greedy path changes token within
        // MaxNewTokens on this clip, so later steps are compared too, not one token copied.
        var spec = SyntheticCheckpointSpec.Tiny(5) with { AudioEncoderWeights = PackParts.EncoderFile("audio.safetensors"),
            VideoEncoderWeights = PackParts.EncoderFile("video.safetensors") };
        SyntheticCheckpoint.Write(Checkpoint, spec, Hf);
        SyntheticCheckpoint.TrainConfigFor(spec).Write(TrainConfig);
        WriteLoraTrapTrainConfig();
        Build(Checkpoint, TrainConfig, Fp32Pack, LlamaFileType.F32, ProjectorPrecision.Fp32, audio: true, video: true);
        Build(Checkpoint, TrainConfig, Int8Pack, LlamaFileType.Q8_0, ProjectorPrecision.Int8, audio: true, video: true);
        foreach (var (task, modality) in new[] { ("asr", "audio"), ("vsr", "video") })
        {
            var one = spec with { Modality = modality };
            SyntheticCheckpoint.Write(CheckpointFor(task), one);
            SyntheticCheckpoint.TrainConfigFor(one).Write(TrainConfigFor(task));
            Build(CheckpointFor(task), TrainConfigFor(task), PackFor(task), LlamaFileType.F32, ProjectorPrecision.Fp32, audio: task == "asr",
                video: task == "vsr");
        }
        string clip = Python.Script("Models/media/make_clip.py", "--text", "hello edge device", "--text", "we listen and watch", "--gap", "0.3",
            "--seed", "5", "--out", Clip);
        using var doc = JsonDocument.Parse(clip);
        ClipSeconds = doc.RootElement.GetProperty("duration").GetDouble();
    }

    /// <summary>The audio-visual checkpoint (both packs above are built from it).</summary>
    public string Checkpoint => File("ckpt.safetensors");

    public string TrainConfig => File("train.json");

    public string Hf => File("hf");

    /// <summary>
    /// <see cref="TrainConfig"/> with alpha times 4: the LoRA scale alpha / 8 the authors' `rank` gives when read as the true
    /// rank instead of the reduction factor (alpha / 32), the trap docs/paper.md warns about.
    /// </summary>
    public string LoraTrapTrainConfig => File("train-lora-trap.json");

    public string Fp32Pack => File("pack-fp32");

    public string Int8Pack => File("pack-int8");

    /// <summary>The checkpoint a task's fp32 pack is built from: audio-visual for avsr, audio-only for asr, video-only for vsr.</summary>
    public string CheckpointFor(string task) => task == "avsr" ? Checkpoint : File($"ckpt-{task}.safetensors");

    public string TrainConfigFor(string task) => task == "avsr" ? TrainConfig : File($"train-{task}.json");

    /// <summary>The fp32 projector + F32 GGUF pack that serves <paramref name="task"/>.</summary>
    public string PackFor(string task) => task == "avsr" ? Fp32Pack : File($"pack-{task}");

    public string Clip => File("clip.mp4");

    public double ClipSeconds { get; }

    public string File(string name) => _dir.File(name);

    /// <summary>
    /// The PyTorch reference for AVSR over the whole clip (fp64) with the audio-visual checkpoint: its JSON result,
    /// first-step logits and intermediate tensors (see <see cref="EnsureReferences"/>).
    /// </summary>
    public ReferenceRun WholeClipReference()
    {
        EnsureReferences();
        return _wholeClip!;
    }

    /// <summary>The AVSR reference over the whole clip with <see cref="LoraTrapTrainConfig"/> (see <see cref="EnsureReferences"/>).</summary>
    public ReferenceRun LoraTrapReference()
    {
        EnsureReferences();
        return _loraTrap!;
    }

    /// <summary>
    /// The reference for <paramref name="task"/> on the segment <c>transcribe</c> with <see cref="PackFor"/> cut (its
    /// sample and frame ranges), from that pack's own checkpoint and train config (see <see cref="EnsureReferences"/>).
    /// </summary>
    public ReferenceRun SegmentReference(string task)
    {
        EnsureReferences();
        return _segmentRuns[task];
    }

    /// <summary>
    /// On first use: <c>transcribe</c> with each task's fp32 pack, then ONE reference process (torch imported, media
    /// decoded once) for AVSR on the whole clip and each task on its transcribe segment, each from its own checkpoint, and
    /// AVSR on the whole clip with <see cref="LoraTrapTrainConfig"/>.
    /// </summary>
    private void EnsureReferences()
    {
        lock (_segmentRuns)
        {
            if (_wholeClip is not null)
            {
                return;
            }
            string[] tasks = ["avsr", "asr", "vsr"];
            var jobs = new List<ReferenceJob> { new("avsr", null, Checkpoint, TrainConfig) };
            jobs.AddRange(tasks.Select(t => new ReferenceJob(t, Transcribe(PackFor(t), t).JsonPath, CheckpointFor(t), TrainConfigFor(t))));
            jobs.Add(new ReferenceJob("avsr", null, Checkpoint, LoraTrapTrainConfig));
            var runs = References(jobs);
            for (int i = 0; i < tasks.Length; i++)
            {
                _segmentRuns[tasks[i]] = runs[i + 1];
            }
            _loraTrap = runs[tasks.Length + 1];
            _wholeClip = runs[0];
        }
    }

    /// <summary>
    /// <c>edgeavsr transcribe</c> of the clip with <paramref name="pack"/> for <paramref name="task"/>: exact numerics,
    /// greedy, JSON, first-step logits; run once per (pack, task) and kept.
    /// </summary>
    public TranscribeRun Transcribe(string pack, string task)
    {
        lock (_transcripts)
        {
            string key = Path.GetFileName(pack) + "/" + task;
            if (!_transcripts.TryGetValue(key, out var run))
            {
                string name = Path.GetFileName(pack) + "-" + task;
                string json = File($"transcribe-{name}.json"), logits = File($"transcribe-{name}-logits.npy");
                var (code, _, err) = CliHarness.Edgeavsr("transcribe", "--model", pack, "--input", Clip, "--task", task, "--exact-numerics",
                    "--beams", "1", "--format", "json", "--max-new-tokens", MaxNewTokens.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    "--threads", "2", "--first-logits", logits, "--out", json);
                Assert.True(code == 0, $"transcribe {name} failed ({code}): {err}");
                using var doc = JsonDocument.Parse(System.IO.File.ReadAllBytes(json));
                run = new TranscribeRun(doc.RootElement.Clone(), json, logits);
                _transcripts[key] = run;
            }
            return run;
        }
    }

    /// <summary>Runs the reference once (one Python process, the HF base directory, the clip) for several jobs.</summary>
    public IReadOnlyList<ReferenceRun> References(IReadOnlyList<ReferenceJob> jobs)
    {
        string batch = File("ref-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(batch);
        var runs = new List<(string Logits, string Dump)>();
        string jobsPath = Path.Combine(batch, "jobs.json");
        using (var stream = System.IO.File.Create(jobsPath))
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartArray();
            for (int i = 0; i < jobs.Count; i++)
            {
                string dump = Path.Combine(batch, $"{i}-{jobs[i].Task}");
                string logits = Path.Combine(dump, "first_logits.npy");
                Directory.CreateDirectory(dump);
                runs.Add((logits, dump));
                w.WriteStartObject();
                w.WriteString("task", jobs[i].Task);
                if (jobs[i].SegmentJson is { } seg)
                {
                    w.WriteString("segment_json", seg);
                }
                w.WriteString("checkpoint", jobs[i].Checkpoint);
                w.WriteString("train_config", jobs[i].TrainConfig);
                w.WriteNumber("max_new_tokens", MaxNewTokens);
                w.WriteString("first_logits", logits);
                w.WriteString("dump", dump);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        string stdout = Python.Script(ReferenceScript, "--checkpoint", Checkpoint, "--train-config", TrainConfig, "--hf", Hf, "--input", Clip,
            "--jobs", jobsPath, "--threads", "2");
        using var doc = JsonDocument.Parse(stdout);
        var results = doc.RootElement.GetProperty("runs").EnumerateArray().ToArray();
        Assert.Equal(jobs.Count, results.Length);
        return [.. results.Select((r, i) => new ReferenceRun(r.Clone(), runs[i].Logits, runs[i].Dump))];
    }

    private void WriteLoraTrapTrainConfig()
    {
        using var config = JsonDocument.Parse(System.IO.File.ReadAllBytes(TrainConfig));
        using var stream = System.IO.File.Create(LoraTrapTrainConfig);
        using var w = new Utf8JsonWriter(stream);
        w.WriteStartObject();
        foreach (var p in config.RootElement.EnumerateObject())
        {
            if (p.Name == "alpha")
            {
                w.WriteNumber("alpha", p.Value.GetDouble() * 4);
            }
            else
            {
                p.WriteTo(w);
            }
        }
        w.WriteEndObject();
    }

    private void Build(string checkpoint, string trainConfig, string output, LlamaFileType llm, ProjectorPrecision precision, bool audio, bool video) =>
        PackBuilder.Build(new PackRequest
        {
            Checkpoint = checkpoint,
            TrainConfig = trainConfig,
            HfDirectory = Hf,
            AudioEncoder = audio ? PackParts.EncoderFile("audio.onnx") : null,
            VideoEncoder = video ? PackParts.EncoderFile("video.onnx") : null,
            LlmType = llm,
            ProjectorPrecision = precision,
            OutputDirectory = output,
            ExecutionProviders = [Runtime.Onnx.ExecutionProvider.Cpu],
            Threads = 2,
        });

    public void Dispose() => _dir.Dispose();
}

/// <summary>One <c>edgeavsr transcribe --format json</c> run: its JSON (parsed and the file) and the first-step logits file.</summary>
public sealed record TranscribeRun(JsonElement Json, string JsonPath, string FirstLogits)
{
    public JsonElement FirstSegment => Json.GetProperty("segments")[0];

    public int[] Tokens => Compare.Ints(FirstSegment.GetProperty("tokens"));
}

/// <summary>
/// One job for the reference: a task, a transcribe JSON whose first segment gives the ranges (null: the whole clip),
/// and the checkpoint and train config to run.
/// </summary>
public sealed record ReferenceJob(string Task, string? SegmentJson, string Checkpoint, string TrainConfig);

/// <summary>One run of the PyTorch reference: its JSON result, first-step logits (.npy) and intermediate tensors (folder).</summary>
public sealed record ReferenceRun(JsonElement Result, string FirstLogits, string Dump)
{
    public int[] Tokens => Compare.Ints(Result.GetProperty("tokens"));

    public string Tensor(string name) => Path.Combine(Dump, name + ".npy");
}

/// <summary>Comparisons the end-to-end tests share.</summary>
internal static class Compare
{
    /// <summary>||a - b|| / ||b|| (b the reference) over equally long arrays.</summary>
    public static double RelativeL2(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(b.Length, a.Length);
        return Runtime.RelativeL2.Of(b, a);
    }

    /// <summary>Positions where both sequences hold the same token, over the longer length.</summary>
    public static (int Same, int Of) Agreement(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        int same = 0;
        for (int i = 0; i < Math.Min(a.Count, b.Count); i++)
        {
            same += a[i] == b[i] ? 1 : 0;
        }
        return (same, Math.Max(a.Count, b.Count));
    }

    public static int[] Ints(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetInt32())];

    /// <summary>An .npy the reference wrote (float64 or float32) as float32 values.</summary>
    public static float[] Npy(string path) => NpyFile.ReadFloat32(path).Data;
}
