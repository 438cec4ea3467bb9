using System.Globalization;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Runtime.Tests.Projector;

/// <summary>The projector against the authors' Top_K_MoE in PyTorch (Models/reference/smop_reference.py) on the same files.</summary>
public class PyTorchReferenceTests
{
    /// <summary>Top-k <paramref name="k"/> with the paper's pooling (audio 4 unless given, video 2).</summary>
    private static RoutingSettings Top(int k, int audioPool = 4) => RoutingSettings.Create(k, audioPool, 2);

    private const string Script = "Models/reference/smop_reference.py";

    public static TheoryData<SmopLayout, TensorDType> Cases => new()
    {
        { SmopLayout.Jejr, TensorDType.F32 }, { SmopLayout.Dejr, TensorDType.F32 }, { SmopLayout.Dedr, TensorDType.F32 },
        { SmopLayout.Dedr, TensorDType.BF16 }, { SmopLayout.Jejr, TensorDType.F16 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Fp32_MatchesPyTorch_EveryK(SmopLayout layout, TensorDType dtype)
    {
        using var dir = new TempDir();
        const int experts = 4;
        string weights = dir.File("w.safetensors");
        SyntheticProjector.Write(weights, new SyntheticProjectorSpec { Layout = layout, Experts = experts, AudioDim = 45, VideoDim = 45,
            HiddenDim = 51, OutputDim = 33, DType = dtype, Seed = 21 });
        var audio = SyntheticProjector.Features(61, 45, 5);
        var video = SyntheticProjector.Features(31, 45, 6);
        NpyFile.Write(dir.File("a.npy"), audio.Data, 1, audio.Rows, audio.Columns);
        NpyFile.Write(dir.File("v.npy"), video.Data, video.Rows, video.Columns);
        var loaded = SmopWeights.Load(weights, layout);
        for (int k = 1; k <= experts; k++)
        {
            string outDir = dir.File($"torch-{k}");
            Python.Script(Script, "run", "--weights", weights, "--layout", layout.ToText(), "--top-k", k.ToString(CultureInfo.InvariantCulture),
                "--audio", dir.File("a.npy"), "--video", dir.File("v.npy"), "--out", outDir);
            var got = SmopProjector.Create(loaded, new SmopOptions { Routing = Top(k) }).Project(audio, video);
            Compare(outDir, got, 1e-5, k);
        }
    }

    [Theory]
    [InlineData(SmopLayout.Jejr)]
    [InlineData(SmopLayout.Dejr)]
    [InlineData(SmopLayout.Dedr)]
    public void Int8File_MatchesPyTorchOnItsDequantizedWeights(SmopLayout layout)
    {
        using var dir = new TempDir();
        string fp32 = dir.File("w.safetensors"), int8 = dir.File("w.int8.safetensors");
        SyntheticProjector.Write(fp32, new SyntheticProjectorSpec { Layout = layout, Experts = 3, AudioDim = 64, VideoDim = 64, HiddenDim = 72,
            OutputDim = 40, Seed = 22 });
        Int8ProjectorFile.Write(int8, SmopWeights.Load(fp32, layout), Top(2));
        var audio = SyntheticProjector.Features(80, 64, 7);
        var video = SyntheticProjector.Features(40, 64, 8);
        NpyFile.Write(dir.File("a.npy"), audio.Data, audio.Rows, audio.Columns);
        NpyFile.Write(dir.File("v.npy"), video.Data, video.Rows, video.Columns);
        Python.Script(Script, "run", "--weights", int8, "--layout", layout.ToText(), "--top-k", "2", "--audio", dir.File("a.npy"), "--video",
            dir.File("v.npy"), "--out", dir.File("torch"));
        var got = SmopProjector.Create(SmopWeights.Load(int8, null), new SmopOptions { Routing = Top(2), Precision = ProjectorPrecision.Int8 })
            .Project(audio, video);
        // Weights are identical on both sides; the difference is the runtime's per-token activation quantization.
        Compare(dir.File("torch"), got, 2e-2, 2);
    }

    [Fact]
    public void Pooling_BitEqualToTorchAvgPool1d_EveryWindow()
    {
        // The window sum divided by K, as AvgPool1d does: multiplying by 1/K differs in the last bit for K = 3, 5.
        using var dir = new TempDir();
        var frames = SyntheticProjector.Features(23, 19, seed: 9);
        NpyFile.Write(dir.File("x.npy"), frames.Data, frames.Rows, frames.Columns);
        for (int window = 1; window <= 6; window++)
        {
            string pooled = dir.File($"p{window}.npy");
            Python.Run($"import numpy as np, torch; x = torch.from_numpy(np.load('{dir.File("x.npy")}')); " +
                $"np.save('{pooled}', torch.nn.AvgPool1d({window})(x.T.unsqueeze(0))[0].T.contiguous().numpy())");
            var expected = NpyFile.ReadFloat32(pooled);
            var got = TemporalPooling.Average(frames, window);
            Assert.Equal(expected.Shape, new long[] { got.Rows, got.Columns });
            Assert.Equal(expected.Data, got.Data);
        }
    }

    private static void Compare(string torchDir, ProjectorOutput got, double tolerance, int k)
    {
        foreach (var t in new[] { got.Audio!, got.Video! })
        {
            string name = t.Modality.ToText();
            var expected = ReadFloat64(Path.Combine(torchDir, $"{name}_tokens.npy"));
            var experts = NpyFile.ReadInt32(Path.Combine(torchDir, $"experts_{name}.npy"));
            Assert.Equal(experts.Data, t.Experts);
            double err = ReferenceSmop.RelativeL2(expected, t.Tokens.Data);
            Assert.True(err <= tolerance, $"{name} k={k}: relative L2 {err} > {tolerance}");
        }
    }

    // The reference writes float64; convert through numpy to float32 bytes we read (keeps NpyFile float32-only).
    private static double[] ReadFloat64(string path)
    {
        string f32 = path + ".f32.npy";
        Python.Run($"import numpy as np; np.save('{f32}', np.load('{path}').astype(np.float32))");
        return NpyFile.ReadFloat32(f32).Data.Select(v => (double)v).ToArray();
    }
}
