using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Projector;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace EdgeAvsr.Runtime.Tests.Properties;

/// <summary><see cref="Int8ProjectorFile.Write"/> to <see cref="SmopWeights.Load"/>: the quantized model and its routing come back unchanged.</summary>
public class ProjectorFileProperties
{
    public sealed record ProjectorCase(SyntheticProjectorSpec Spec, int TopK, int AudioPool, int VideoPool)
    {
        public override string ToString() => $"{Spec.Layout.ToText()} {Spec.Experts} experts, audio {Spec.Audio} D={Spec.AudioDim}, video {Spec.Video} " +
            $"D={Spec.VideoDim}, hidden {Spec.HiddenDim}, out {Spec.OutputDim}, {Spec.DType}, seed {Spec.Seed}; top-k {TopK}, pools {AudioPool}/{VideoPool}";
    }

    private static readonly Gen<ProjectorCase> s_case =
        from layout in Gen.Elements(SmopLayout.Jejr, SmopLayout.Dejr, SmopLayout.Dedr)
        from experts in Gen.Choose(1, 4)
        from audioDim in Gen.Choose(1, 9)
        from videoDim in Gen.Choose(1, 9)
        from hidden in Gen.Choose(1, 9)
        from output in Gen.Choose(1, 9)
        from modalities in Gen.Elements((true, true), (true, false), (false, true))
        from dtype in Gen.Elements(TensorDType.F32, TensorDType.BF16)
        from seed in Gen.Choose(0, int.MaxValue)
        from topK in Gen.Choose(1, experts)
        from audioPool in Gen.Choose(1, 6)
        from videoPool in Gen.Choose(1, 6)
        select new ProjectorCase(new SyntheticProjectorSpec
        {
            Layout = layout, Experts = experts, AudioDim = audioDim, VideoDim = layout == SmopLayout.Dedr ? videoDim : audioDim, HiddenDim = hidden,
            OutputDim = output, Audio = modalities.Item1, Video = modalities.Item2, DType = dtype, Seed = seed,
        }, topK, audioPool, videoPool);

    private static void AssertBits(float[]? expected, float[]? actual, string what)
    {
        Assert.True(expected is not null && actual is not null, $"{what} is missing");
        Assert.True(expected.Select(BitConverter.SingleToInt32Bits).SequenceEqual(actual.Select(BitConverter.SingleToInt32Bits)), $"{what} differs");
    }

    private static void AssertSame(MixtureWeights? expected, MixtureWeights? actual, string name)
    {
        Assert.Equal(expected is null, actual is null);
        if (expected is null || actual is null)
        {
            return;
        }
        AssertBits(expected.Router, actual.Router, $"{name} router");
        Assert.Equal(expected.ExpertCount, actual.ExpertCount);
        for (int e = 0; e < expected.ExpertCount; e++)
        {
            var (x, y) = (expected.Experts[e], actual.Experts[e]);
            string at = $"{name} expert {e}";
            Assert.True(y.IsInt8, $"{at} read back as float");
            Assert.Equal((x.InputDim, x.HiddenDim, x.OutputDim), (y.InputDim, y.HiddenDim, y.OutputDim));
            Assert.Equal(x.UpInt8, y.UpInt8);
            Assert.Equal(x.DownInt8, y.DownInt8);
            AssertBits(x.UpScale, y.UpScale, $"{at} up scale");
            AssertBits(x.UpBias, y.UpBias, $"{at} up bias");
            AssertBits(x.DownScale, y.DownScale, $"{at} down scale");
            AssertBits(x.DownBias, y.DownBias, $"{at} down bias");
            AssertBits(x.NormWeight, y.NormWeight, $"{at} LayerNorm weight");
            AssertBits(x.NormBias, y.NormBias, $"{at} LayerNorm bias");
        }
    }

    /// <summary>
    /// Every layout (jejr, dejr, dedr with one or both modalities), 1 to 4 experts, odd small widths, F32 or BF16 sources: the
    /// INT8 file read back gives the layout, top-k and pools written, and the very same int8 weights, scales, biases,
    /// LayerNorm terms and routers (bit for bit) as quantizing the float model in memory.
    /// </summary>
    [Property(MaxTest = 60, Replay = "(19190021,19190023)")]
    public Property Int8ProjectorFile_WriteThenLoad_GivesTheQuantizedModel() => Prop.ForAll(Arb.From(s_case), c =>
    {
        using var dir = new TempDir();
        SyntheticProjector.Write(dir.File("fp.safetensors"), c.Spec);
        var fp = SmopWeights.Load(dir.File("fp.safetensors"), c.Spec.Layout);
        Int8ProjectorFile.Write(dir.File("int8.safetensors"), fp, RoutingSettings.Create(c.TopK, c.AudioPool, c.VideoPool), "fp.safetensors");
        var read = SmopWeights.Load(dir.File("int8.safetensors"), null);
        var expected = fp.ToInt8();
        Assert.True(read.IsInt8);
        Assert.Equal(c.Spec.Layout, read.Layout);
        Assert.NotNull(read.Routing);
        Assert.Equal((c.TopK, c.AudioPool, c.VideoPool), (read.Routing.TopK, read.Routing.AudioPool, read.Routing.VideoPool));
        AssertSame(expected.Audio, read.Audio, "audio");
        AssertSame(expected.Video, read.Video, "video");
    });
}
