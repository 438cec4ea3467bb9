using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Runtime.Tests.Cli;

[Collection("console")]
public class QuantizeProjectorCliTests
{
    private static (int Code, string Err) Invoke(params string[] args)
    {
        var (code, _, err) = CliHarness.Quantize(args);
        return (code, err);
    }

    [Fact]
    public void Projector_WritesInt8File_ThatMatchesQuantizeAtLoad()
    {
        using var dir = new TempDir();
        string w = dir.File("w.safetensors");
        SyntheticProjector.Write(w, new SyntheticProjectorSpec { Layout = SmopLayout.Dejr, Experts = 3, AudioDim = 24, VideoDim = 24, HiddenDim = 20,
            OutputDim = 16, DType = TensorDType.BF16 });
        var (code, err) = Invoke("projector", "--weights", w, "--layout", "dejr", "--top-k", "2", "--out", dir.File("q.safetensors"));
        Assert.True(code == 0, err);
        var loaded = SmopWeights.Load(dir.File("q.safetensors"), null);
        Assert.Equal(SmopLayout.Dejr, loaded.Layout);
        Assert.Equal(2, loaded.Routing!.TopK);
        using var f = SafetensorsFile.Open(dir.File("q.safetensors"));
        Assert.Equal("w.safetensors", f.Metadata["source"]);
        Assert.True(f.Contains("av_router.weight"));
        var x = SyntheticProjector.Features(12, 24, 3);
        var int8Options = new SmopOptions { Routing = RoutingSettings.Create(2, 4, 2), Precision = ProjectorPrecision.Int8 };
        var a = SmopProjector.Create(SmopWeights.Load(w, SmopLayout.Dejr), int8Options).Project(x, x);
        var b = SmopProjector.Create(loaded, int8Options).Project(x, x);
        Assert.Equal(a.Video!.Tokens.Data, b.Video!.Tokens.Data);
    }

    [Fact]
    public void Projector_BadTopK_Exit2_NoOutput()
    {
        using var dir = new TempDir();
        string w = dir.File("w.safetensors");
        SyntheticProjector.Write(w, new SyntheticProjectorSpec { Layout = SmopLayout.Jejr, Experts = 3, AudioDim = 8, VideoDim = 8, HiddenDim = 8,
            OutputDim = 8 });
        var (code, err) = Invoke("projector", "--weights", w, "--layout", "jejr", "--top-k", "4", "--out", dir.File("q.safetensors"));
        Assert.Equal(2, code);
        Assert.Contains("--top-k 4 must be between 1 and the 3 experts", err, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("q.safetensors")));
    }

    [Fact]
    public void Project_Int8FileAsFp32_And_BadLayoutWord_NameTheirFlags()
    {
        // The library's messages name the parameters (precision, layout); edgeavsr project says them as its flags.
        using var dir = new TempDir();
        string w = dir.File("w.safetensors");
        SyntheticProjector.Write(w, new SyntheticProjectorSpec { Layout = SmopLayout.Dejr, Experts = 3, AudioDim = 8, VideoDim = 8, HiddenDim = 8,
            OutputDim = 8 });
        Assert.Equal(0, Invoke("projector", "--weights", w, "--layout", "dejr", "--top-k", "2", "--out", dir.File("q.safetensors")).Code);
        NpyFile.Write(dir.File("a.npy"), SyntheticProjector.Features(5, 8, 1).Data, 5, 8);
        var (code, _, err) = CliHarness.Edgeavsr("project", "--weights", dir.File("q.safetensors"), "--audio", dir.File("a.npy"), "--precision", "fp32",
            "--out", dir.File("out"));
        Assert.Equal(2, code);
        Assert.Contains("edgeavsr: the weights are an INT8 projector file; run them with --precision int8", err, StringComparison.Ordinal);
        (code, _, err) = CliHarness.Edgeavsr("project", "--weights", w, "--audio", dir.File("a.npy"), "--top-k", "2", "--out", dir.File("out"));
        Assert.Equal(2, code);
        Assert.Contains("does not record its layout: pass --layout jejr|dejr|dedr", err, StringComparison.Ordinal);
        (code, _, err) = CliHarness.Edgeavsr("project", "--weights", w, "--layout", "jjjj", "--audio", dir.File("a.npy"), "--out", dir.File("out"));
        Assert.Equal(2, code);
        Assert.Equal("edgeavsr: --layout 'jjjj' is not jejr, dejr or dedr", err.Trim());
        (code, _, err) = CliHarness.Edgeavsr("project", "--weights", w, "--threads", "-1", "--audio", dir.File("a.npy"), "--out", dir.File("out"));
        Assert.Equal(2, code);
        Assert.Contains("edgeavsr: --threads must be 0 (one per core) or more, got -1", err, StringComparison.Ordinal);
    }
}
