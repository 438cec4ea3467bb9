using System.Text.Json;
using EdgeAvsr.Cli.Evaluation;

namespace EdgeAvsr.Runtime.Tests.EndToEnd;

/// <summary>The default pack, built from the trained demo model (Models/demo) as <c>./build.sh setup</c> builds it.</summary>
public sealed class DemoPackFixture : IDisposable
{
    private readonly TempDir _dir = new();

    public DemoPackFixture()
    {
        string demo = Path.Combine(Tools.RepoRoot, "Models", "demo");
        Pack = _dir.File("demo");
        var (code, _, err) = CliHarness.Quantize("pack", "--checkpoint", Path.Combine(demo, "llama_smop_dedr.safetensors"),
            "--train-config", Path.Combine(demo, "train_config_dedr.json"), "--hf", Path.Combine(demo, "hf"),
            "--audio-encoder", Path.Combine(demo, "audio_encoder.onnx"), "--video-encoder", Path.Combine(demo, "video_encoder.onnx"),
            "--llm-type", "q8_0", "--out", Pack);
        if (code != 0)
        {
            throw new InvalidOperationException($"edgeavsr-quantize pack failed ({code}): {err}");
        }
    }

    public string Pack { get; }

    public static string Sample(string name) => Path.Combine(Tools.RepoRoot, "Models", "demo", "samples", name);

    public void Dispose() => _dir.Dispose();
}

[Collection("console")]
public class DemoPackTests : IClassFixture<DemoPackFixture>
{
    private const string Clip = "04_babble0dB_place_blue_with_q_nine_please.mp4";
    private readonly DemoPackFixture _demo;

    public DemoPackTests(DemoPackFixture demo) => _demo = demo;

    [Fact]
    public void Manifest_ServesEveryTask_OnTheTrainedWindow()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(_demo.Pack, "manifest.json")));
        var root = doc.RootElement;
        Assert.Equal(["asr", "vsr", "avsr"], root.GetProperty("tasks").EnumerateArray().Select(t => t.GetString()!).ToArray());
        Assert.Equal(300, root.GetProperty("front_end").GetProperty("mel_frames").GetInt32());
        var (code, stdout, _) = CliHarness.Edgeavsr("info", _demo.Pack);
        Assert.Equal(0, code);
        Assert.Contains("log-mel 80x300", stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("avsr")]
    [InlineData("vsr")]
    public void SampleInBabbleAt0dB_LipsGiveTheRightWords(string task)
    {
        var (code, stdout, stderr) = CliHarness.Edgeavsr("transcribe", "--model", _demo.Pack, "--input", DemoPackFixture.Sample(Clip), "--task", task);
        Assert.True(code == 0, stderr);
        Assert.Equal("place blue with q nine please", stdout.Trim());
    }

    [Fact]
    public void SampleInBabbleAt0dB_EarsAloneMissWords()
    {
        // The model's point (and the paper's): in 0 dB babble the audio-only task fails where the lips hold.
        var (code, stdout, stderr) = CliHarness.Edgeavsr("transcribe", "--model", _demo.Pack, "--input", DemoPackFixture.Sample(Clip), "--task", "asr");
        Assert.True(code == 0, stderr);
        Assert.NotEqual("place blue with q nine please", stdout.Trim());
        Assert.Contains("utterances: cut at the VAD's speech boundaries, at most 3 s", CliHarness.Edgeavsr("transcribe", "--model", _demo.Pack,
            "--input", DemoPackFixture.Sample(Clip), "--task", "asr", "--verbose").Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Eval_OnTwoClips_CountsWordErrorsPerTaskAndCondition()
    {
        using var dir = new TempDir();
        string manifest = dir.File("test.jsonl");
        File.Copy(DemoPackFixture.Sample(Clip), dir.File("a_babble0.mp4"));
        File.WriteAllLines(manifest,
        [
            """{"media": "a_babble0.mp4", "text": "place blue with q nine please", "noise": "babble", "snr": "0", "id": "a"}""",
            """{"media": "a_babble0.mp4", "text": "place blue with q nine soon", "noise": "clean", "snr": "clean", "id": "b"}""",
        ]);
        var (code, stdout, stderr) = CliHarness.Edgeavsr("eval", "--model", _demo.Pack, "--manifest", manifest, "--task", "vsr,avsr",
            "--out", dir.File("r.json"));
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(File.ReadAllText(dir.File("r.json")));
        var wer = doc.RootElement.GetProperty("wer");
        // Both files decode to "place blue with q nine please" (the second file's reference differs in one of six words).
        Assert.Equal(0.0, wer.GetProperty("avsr/babble/0").GetDouble());
        Assert.Equal(1.0 / 6, wer.GetProperty("avsr/clean/clean").GetDouble(), 12);
        Assert.Equal(1.0 / 12, wer.GetProperty("vsr/-/-").GetDouble(), 12);
        Assert.Contains("| AVSR | 16.7 | 0.0 |", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Eval_BadManifestLine_IsOneLineNamingTheLine()
    {
        using var dir = new TempDir();
        File.WriteAllLines(dir.File("t.jsonl"), ["""{"media": "x.mp4", "text": "a", "noise": "pink", "snr": "0", "id": "a"}"""]);
        var (code, _, stderr) = CliHarness.Edgeavsr("eval", "--model", _demo.Pack, "--manifest", dir.File("t.jsonl"));
        Assert.Equal(2, code);
        Assert.Equal($"edgeavsr: {dir.File("t.jsonl")}:1: noise 'pink' is not clean, babble or white", stderr.Trim());
    }
}

/// <summary>The word error count against Models/train/common.py's <c>wer</c>, the PyTorch evaluation's measure.</summary>
public class WordErrorsTests
{
    [Fact]
    public void CorpusWer_EqualsThePythonEvaluation()
    {
        var rng = new Random(21);
        string[] vocabulary = ["bin", "lay", "place", "set", "blue", "green", "red", "white", "at", "by", "in", "with", "a", "b", "one", "now"];
        var pairs = Enumerable.Range(0, 200).Select(_ => (Sentence(rng, vocabulary), Sentence(rng, vocabulary))).ToList();
        var ours = new WordErrors();
        foreach (var (r, h) in pairs)
        {
            ours.Add(r, h);
        }
        string refs = JsonSerializer.Serialize(pairs.Select(p => p.Item1).ToArray());
        string hyps = JsonSerializer.Serialize(pairs.Select(p => p.Item2).ToArray());
        string script = $"import sys, json; sys.path.insert(0, '{Path.Combine(Tools.RepoRoot, "Models", "train")}'); "
            + $"import common; print(repr(common.wer(json.loads('{refs}'), json.loads('{hyps}'))))";
        double python = double.Parse(Python.Run(script).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(python, ours.Rate, 15);
        Assert.InRange(ours.Rate, 0.3, 1.5);
    }

    [Theory]
    [InlineData("a b c", "a b c", 0)]
    [InlineData("a b c", "a x c", 1)]
    [InlineData("a b c", "a c", 1)]
    [InlineData("a b c", "a b c d e", 2)]
    [InlineData("a b c", "", 3)]
    [InlineData("", "x y", 2)]
    public void Distance_CountsSubstitutionsDeletionsInsertions(string reference, string hypothesis, int expected) =>
        Assert.Equal(expected, WordErrors.Distance(WordErrors.Words(reference), WordErrors.Words(hypothesis)));

    private static string Sentence(Random rng, string[] words) =>
        string.Join(' ', Enumerable.Range(0, rng.Next(0, 8)).Select(_ => words[rng.Next(words.Length)]));
}
