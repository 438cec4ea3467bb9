using System.Text.Json;
using EdgeAvsr.Quantize.Conversion;
using EdgeAvsr.Quantize.Pack;
using EdgeAvsr.Quantize.Testing;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Runtime.Tests.EndToEnd;

/// <summary>
/// Made once for the end-to-end tests: the tiny synthetic Llama-SMoP checkpoint (tiny encoders exported by
/// Models/encoders/export_encoder.py, then <see cref="SyntheticCheckpoint"/> with its HF base directory and train
/// config), two packs built from it (fp32 projector + F32 GGUF; INT8 projector + Q8_0 GGUF), and a real clip from
/// Models/media/make_clip.py (espeak-ng speech, a mouth video, H.264 + AAC MP4): two short sentences, one segment.
/// </summary>
public sealed class ReferencePackFixture : IDisposable
{
    public const string ReferenceScript = "Models/reference/avsr_reference.py";

    /// <summary>Generated tokens per run: enough to compare a sequence, few enough to keep the folder fast.</summary>
    public const int MaxNewTokens = 12;

    private readonly TempDir _dir = new();
    private readonly Dictionary<string, ReferenceRun> _runs = new(StringComparer.Ordinal);

    public ReferencePackFixture()
    {
        Export("whisper", "3", File("audio.onnx"), File("audio.safetensors"));
        Export("avhubert", "4", File("video.onnx"), File("video.safetensors"));
        // Seed 5: a random tiny Llama soon repeats one token; with this seed the greedy path changes token twice within
        // MaxNewTokens on this clip, so later steps are compared too, not one token copied.
        var spec = SyntheticCheckpointSpec.Tiny(5) with { AudioEncoderWeights = File("audio.safetensors"), VideoEncoderWeights = File("video.safetensors") };
        SyntheticCheckpoint.Write(Checkpoint, spec, Hf);
        SyntheticCheckpoint.TrainConfigFor(spec).Write(TrainConfig);
        Build(Fp32Pack, LlamaFileType.F32, ProjectorPrecision.Fp32);
        Build(Int8Pack, LlamaFileType.Q8_0, ProjectorPrecision.Int8);
        string clip = Python.Script("Models/media/make_clip.py", "--text", "hello edge device", "--text", "we listen and watch", "--gap", "0.3", "--seed", "5", "--out", Clip);
        using var doc = JsonDocument.Parse(clip);
        ClipSeconds = doc.RootElement.GetProperty("duration").GetDouble();
    }

    public string Checkpoint => File("ckpt.safetensors");

    public string TrainConfig => File("train.json");

    public string Hf => File("hf");

    public string Fp32Pack => File("pack-fp32");

    public string Int8Pack => File("pack-int8");

    public string Clip => File("clip.mp4");

    public double ClipSeconds { get; }

    public string File(string name) => _dir.File(name);

    /// <summary>
    /// The PyTorch reference for <paramref name="task"/> over the whole clip (fp64): its JSON result, first-step logits
    /// and intermediate tensors. The first call runs all three tasks in one process (media, encoders and models
    /// loaded once) and keeps them.
    /// </summary>
    public ReferenceRun Reference(string task)
    {
        lock (_runs)
        {
            if (_runs.Count == 0)
            {
                string[] tasks = ["avsr", "asr", "vsr"];
                var runs = References([.. tasks.Select(t => new ReferenceJob(t, null))]);
                for (int i = 0; i < tasks.Length; i++)
                {
                    _runs[tasks[i]] = runs[i];
                }
            }
            return _runs[task];
        }
    }

    /// <summary>Runs the reference once for several jobs (task, and a transcribe JSON whose first segment's ranges to take, or null for the whole clip).</summary>
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

    private void Build(string output, LlamaFileType llm, ProjectorPrecision precision) => PackBuilder.Build(new PackRequest
    {
        Checkpoint = Checkpoint,
        TrainConfig = TrainConfig,
        HfDirectory = Hf,
        AudioEncoder = File("audio.onnx"),
        VideoEncoder = File("video.onnx"),
        LlmType = llm,
        ProjectorPrecision = precision,
        OutputDirectory = output,
        ExecutionProviders = [Interop.Onnx.ExecutionProvider.Cpu],
        Threads = 2,
    });

    private static void Export(string arch, string seed, string onnx, string weights) =>
        Python.Script("Models/encoders/export_encoder.py", "export", "--arch", arch, "--size", "tiny", "--seed", seed, "--out", onnx, "--save-weights", weights);

    public void Dispose() => _dir.Dispose();
}

/// <summary>One job for the reference: a task and, optionally, a transcribe JSON whose first segment gives the ranges.</summary>
public sealed record ReferenceJob(string Task, string? SegmentJson);

/// <summary>One run of the PyTorch reference: its JSON result, first-step logits (.npy) and intermediate tensors (folder).</summary>
public sealed record ReferenceRun(JsonElement Result, string FirstLogits, string Dump)
{
    public int[] Tokens => Compare.Ints(Result.GetProperty("tokens"));

    public string Tensor(string name) => Path.Combine(Dump, name + ".npy");
}

/// <summary>Comparisons the end-to-end tests share.</summary>
internal static class Compare
{
    /// <summary>||a - b|| / ||b|| in fp64 over equally long arrays.</summary>
    public static double RelativeL2(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(b.Length, a.Length);
        double num = 0, den = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = (double)a[i] - b[i];
            num += d * d;
            den += (double)b[i] * b[i];
        }
        return Math.Sqrt(num / Math.Max(den, double.Epsilon));
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
