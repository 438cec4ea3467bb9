using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Projector;
using EdgeAvsr.Runtime.Projector.Kernels;
using EdgeAvsr.Runtime.Tests.Formats;

namespace EdgeAvsr.Runtime.Tests.Projector;

public class ProjectorTests
{
    /// <summary>Top-k <paramref name="k"/> with the paper's pooling (audio 4 unless given, video 2).</summary>
    private static RoutingSettings Top(int k, int audioPool = 4) => RoutingSettings.Create(k, audioPool, 2);

    // Odd sizes on purpose: no dimension is a multiple of a SIMD width or tile.
    private const int Dim = 37, Hidden = 29, Out = 23;

    private static SmopWeights Make(TempDir dir, SmopLayout layout, int experts, TensorDType dtype = TensorDType.F32, int seed = 5, int videoDim = Dim)
    {
        string path = dir.File($"{layout}-{experts}-{dtype}-{seed}.safetensors");
        SyntheticProjector.Write(path, new SyntheticProjectorSpec { Layout = layout, Experts = experts, AudioDim = Dim, VideoDim = videoDim,
            HiddenDim = Hidden, OutputDim = Out, DType = dtype, Seed = seed });
        return SmopWeights.Load(path, layout);
    }

    public static TheoryData<SmopLayout, int> LayoutsAndExperts => new()
    {
        { SmopLayout.Jejr, 3 }, { SmopLayout.Dejr, 3 }, { SmopLayout.Dedr, 3 },
        { SmopLayout.Jejr, 5 }, { SmopLayout.Dejr, 5 }, { SmopLayout.Dedr, 5 },
    };

    [Theory]
    [MemberData(nameof(LayoutsAndExperts))]
    public void Fp32_EveryKernel_EveryK_MatchesFp64Reference(SmopLayout layout, int experts)
    {
        using var dir = new TempDir();
        var weights = Make(dir, layout, experts);
        var audio = SyntheticProjector.Features(43, Dim, seed: 1);
        var video = SyntheticProjector.Features(25, Dim, seed: 2);
        foreach (var kernel in KernelRegistry.Fp32Variants)
        {
            for (int k = 1; k <= experts; k++)
            {
                var p = SmopProjector.Create(weights, new SmopOptions { Routing = Top(k), Fp32Kernel = kernel, RowBlock = 3 });
                var got = p.Project(audio, video);
                var (ra, rv) = ReferenceSmop.Run(weights, audio, video, k, 4, 2, int8Weights: false);
                Assert.Equal(10, got.Audio!.Tokens.Rows);
                Assert.Equal(12, got.Video!.Tokens.Rows);
                Assert.Equal(ra!.Experts, got.Audio.Experts);
                Assert.Equal(rv!.Experts, got.Video.Experts);
                Assert.True(ReferenceSmop.RelativeL2(ra.Tokens, got.Audio.Tokens.Data) <= 1e-5, $"{kernel.Name} k={k} audio");
                Assert.True(ReferenceSmop.RelativeL2(rv.Tokens, got.Video.Tokens.Data) <= 1e-5, $"{kernel.Name} k={k} video");
            }
        }
    }

    [Theory]
    [MemberData(nameof(LayoutsAndExperts))]
    public void Int8_EveryKernel_WithinTolerance_SameExperts(SmopLayout layout, int experts)
    {
        using var dir = new TempDir();
        var weights = Make(dir, layout, experts);
        var audio = SyntheticProjector.Features(43, Dim, seed: 3);
        var video = SyntheticProjector.Features(25, Dim, seed: 4);
        foreach (var kernel in KernelRegistry.Int8Variants.Where(k => k.CanRun))
        {
            for (int k = 1; k <= experts; k++)
            {
                var p = SmopProjector.Create(weights, new SmopOptions { Routing = Top(k), Precision = ProjectorPrecision.Int8, Int8Kernel = kernel });
                var got = p.Project(audio, video);
                var (ra, rv) = ReferenceSmop.Run(weights, audio, video, k, 4, 2, int8Weights: false);
                Assert.Equal(ra!.Experts, got.Audio!.Experts);
                Assert.Equal(rv!.Experts, got.Video!.Experts);
                Assert.True(ReferenceSmop.RelativeL2(ra.Tokens, got.Audio.Tokens.Data) <= 2e-2, $"{kernel} k={k} audio");
                Assert.True(ReferenceSmop.RelativeL2(rv.Tokens, got.Video.Tokens.Data) <= 2e-2, $"{kernel} k={k} video");
            }
        }
    }

    /// <summary>
    /// The INT8 pipeline (grouping, column blocks wider than one work item, threads) against an fp64 per-token
    /// W8A8 reference: same quantizer, exact integer dot products, no grouping; identical for any thread count.
    /// </summary>
    [Fact]
    public void Int8_Pipeline_MatchesPerTokenW8A8Reference_AnyThreadCount()
    {
        using var dir = new TempDir();
        string path = dir.File("wide.safetensors");
        SyntheticProjector.Write(path, new SyntheticProjectorSpec { Layout = SmopLayout.Dedr, Experts = 4, AudioDim = 70, HiddenDim = 150,
            OutputDim = 131, Video = false, Seed = 21 });
        var weights = SmopWeights.Load(path, SmopLayout.Dedr);
        var x = SyntheticProjector.Features(57, 70, seed: 22);
        float[]? first = null;
        foreach (int threads in new[] { 1, 2, 3 })
        {
            var options = new SmopOptions { Routing = Top(2, audioPool: 1), Precision = ProjectorPrecision.Int8, Threads = threads };
            var got = SmopProjector.Create(weights, options).Project(x, null).Audio!;
            first ??= got.Tokens.Data;
            Assert.Equal(first, got.Tokens.Data);
        }
        var int8 = weights.ToInt8().Audio!;
        var (experts, slotWeights) = SmopProjector.Route(int8, x, 2);
        var expected = new double[57 * 131];
        for (int t = 0; t < 57; t++)
        {
            for (int s = 0; s < 2; s++)
            {
                var e = int8.Experts[experts[t * 2 + s]];
                var h = LinearW8A8(x.Row(t).ToArray(), e.UpInt8!, e.UpScale!, e.UpBias, 150).Select(v => (float)Math.Max(v, 0)).ToArray();
                var y = LinearW8A8(h, e.DownInt8!, e.DownScale!, e.DownBias, 131);
                double mean = y.Average(), variance = y.Select(v => (v - mean) * (v - mean)).Average();
                for (int c = 0; c < 131; c++)
                {
                    expected[t * 131 + c] += slotWeights[t * 2 + s] * ((y[c] - mean) / Math.Sqrt(variance + 1e-5) * e.NormWeight[c] + e.NormBias[c]);
                }
            }
        }
        Assert.True(ReferenceSmop.RelativeL2(expected, first!) <= 1e-3, $"relative L2 {ReferenceSmop.RelativeL2(expected, first!)}");
    }

    private static double[] LinearW8A8(float[] x, sbyte[] w, float[] channelScale, float[] bias, int n)
    {
        var q = new sbyte[x.Length];
        float tokenScale = Int8Quantization.QuantizeRow(x, q);
        var y = new double[n];
        for (int j = 0; j < n; j++)
        {
            long acc = 0;
            for (int i = 0; i < x.Length; i++)
            {
                acc += q[i] * w[j * x.Length + i];
            }
            y[j] = acc * (double)tokenScale * channelScale[j] + bias[j];
        }
        return y;
    }

    [Fact]
    public void Int8_AllVariants_GiveIdenticalTokens()
    {
        // Accumulators are bit-equal across variants and the epilogue is shared, so outputs are too.
        using var dir = new TempDir();
        var weights = Make(dir, SmopLayout.Dedr, 4);
        var audio = SyntheticProjector.Features(40, Dim, seed: 8);
        float[]? first = null;
        foreach (var kernel in KernelRegistry.Int8Variants.Where(k => k.CanRun))
        {
            var got = SmopProjector.Create(weights, new SmopOptions { Routing = Top(2), Precision = ProjectorPrecision.Int8, Int8Kernel = kernel })
                .Project(audio, null);
            first ??= got.Audio!.Tokens.Data;
            Assert.Equal(first, got.Audio!.Tokens.Data);
        }
    }

    /// <summary>
    /// Recycled token arrays are written again by a later call of the same length (the same array comes back) and the
    /// tokens equal a fresh projector's bit for bit, so nothing of the earlier call leaks into the sum; another length
    /// gets a new array.
    /// </summary>
    [Theory]
    [InlineData(ProjectorPrecision.Fp32)]
    [InlineData(ProjectorPrecision.Int8)]
    public void Recycle_ReusesSameLengthArrays_TokensEqualAFreshCall(ProjectorPrecision precision)
    {
        using var dir = new TempDir();
        var weights = Make(dir, SmopLayout.Dedr, 4);
        var options = new SmopOptions { Routing = Top(2), Precision = precision };
        var audio = SyntheticProjector.Features(48, Dim, seed: 31);
        var video = SyntheticProjector.Features(20, Dim, seed: 32);
        var other = SyntheticProjector.Features(36, Dim, seed: 33);
        var expectedAudio = SmopProjector.Create(weights, options).Project(audio, null).Audio!.Tokens.Data;
        var expectedVideo = SmopProjector.Create(weights, options).Project(null, video).Video!.Tokens.Data;

        var p = SmopProjector.Create(weights, options);
        var first = p.Project(other, video);
        var recycledVideo = first.Video!.Tokens.Data;
        p.Recycle(first);
        var second = p.Project(audio, video);
        Assert.Same(recycledVideo, second.Video!.Tokens.Data);
        Assert.NotSame(first.Audio!.Tokens.Data, second.Audio!.Tokens.Data);
        Assert.Equal(expectedVideo, second.Video.Tokens.Data);
        Assert.Equal(expectedAudio, second.Audio.Tokens.Data);
    }

    [Theory]
    [InlineData(ProjectorPrecision.Fp32)]
    [InlineData(ProjectorPrecision.Int8)]
    public void OnlySelectedExpertsRun_RowCountsMatchRouting(ProjectorPrecision precision)
    {
        using var dir = new TempDir();
        var weights = Make(dir, SmopLayout.Dedr, 6);
        var audio = SyntheticProjector.Features(200, Dim, seed: 9);
        var video = SyntheticProjector.Features(60, Dim, seed: 10);
        var got = SmopProjector.Create(weights, new SmopOptions { Routing = Top(2), Precision = precision, RowBlock = 7 }).Project(audio, video);
        foreach (var (name, tokens) in new[] { ("audio_proj", got.Audio!), ("video_proj", got.Video!) })
        {
            var histogram = new long[6];
            foreach (int e in tokens.Experts)
            {
                histogram[e]++;
            }
            Assert.Equal(histogram, got.ExpertRows[name]);
            Assert.Equal(tokens.Tokens.Rows * 2L, got.ExpertRows[name].Sum());
        }
        // 50 + 30 tokens, two experts each: 160 rows, not 6 x 80 = 480.
        Assert.Equal(160, got.TotalExpertRows);
    }

    [Fact]
    public void ExpertsListedByDescendingWeight_WeightsSumToOne()
    {
        using var dir = new TempDir();
        var weights = Make(dir, SmopLayout.Jejr, 5);
        var got = SmopProjector.Create(weights, new SmopOptions { Routing = Top(3) }).Project(SyntheticProjector.Features(40, Dim, 1), null);
        for (int t = 0; t < got.Audio!.Tokens.Rows; t++)
        {
            var w = got.Audio.Weights.AsSpan(t * 3, 3);
            Assert.True(w[0] >= w[1] && w[1] >= w[2]);
            Assert.Equal(1.0, w[0] + w[1] + w[2], 5);
        }
    }

    [Fact]
    public void Routing_TiesGoToLowerIndex()
    {
        var mixture = new MixtureWeights
        {
            Name = "m",
            RouterKey = "r",
            Router = new float[4 * 2], // all-zero router: every expert has probability 1/4
            Experts = Enumerable.Range(0, 4).Select(_ => new ExpertWeights { InputDim = 2, HiddenDim = 1, OutputDim = 1, Up = [0, 0], UpBias = [0],
                Down = [0], DownBias = [0], NormWeight = [1], NormBias = [0] }).ToArray(),
        };
        var (experts, weights) = SmopProjector.Route(mixture, new FloatMatrix([1, 2], 1, 2), 3);
        Assert.Equal(new[] { 0, 1, 2 }, experts);
        Assert.All(weights, w => Assert.Equal(1f / 3, w, 6));
    }

    [Theory]
    [InlineData(SmopLayout.Jejr)]
    [InlineData(SmopLayout.Dejr)]
    [InlineData(SmopLayout.Dedr)]
    public void AsrOnly_And_VsrOnly(SmopLayout layout)
    {
        using var dir = new TempDir();
        var weights = Make(dir, layout, 3);
        var p = SmopProjector.Create(weights, new SmopOptions { Routing = Top(2) });
        var audio = SyntheticProjector.Features(17, Dim, 1);
        var video = SyntheticProjector.Features(9, Dim, 2);
        var asr = p.Project(audio, null);
        var vsr = p.Project(null, video);
        Assert.Null(asr.Video);
        Assert.Null(vsr.Audio);
        var (ra, _) = ReferenceSmop.Run(weights, audio, null, 2, 4, 2, false);
        var (_, rv) = ReferenceSmop.Run(weights, null, video, 2, 4, 2, false);
        Assert.True(ReferenceSmop.RelativeL2(ra!.Tokens, asr.Audio!.Tokens.Data) <= 1e-5);
        Assert.True(ReferenceSmop.RelativeL2(rv!.Tokens, vsr.Video!.Tokens.Data) <= 1e-5);
        Assert.Equal(4, asr.Audio.Tokens.Rows); // 17 frames / 4: the remainder of one frame is dropped
        Assert.Equal(4, vsr.Video!.Tokens.Rows);
    }

    [Fact]
    public void Dedr_AllowsDifferentWidths_JejrAndDejrRefuseThem()
    {
        using var dir = new TempDir();
        var dedr = Make(dir, SmopLayout.Dedr, 2, videoDim: 19);
        var got = SmopProjector.Create(dedr, new SmopOptions { Routing = Top(1) })
            .Project(SyntheticProjector.Features(8, Dim, 1), SyntheticProjector.Features(4, 19, 2));
        Assert.Equal(Out, got.Video!.Tokens.Columns);

        // JEJR: one expert set, so video features must have the audio width.
        var jejr = SmopProjector.Create(Make(dir, SmopLayout.Jejr, 2), new SmopOptions { Routing = Top(1) });
        string message = Assert.Throws<EdgeAvsrException>(() =>
            jejr.Project(SyntheticProjector.Features(8, Dim, 1), SyntheticProjector.Features(4, 19, 2))).Message;
        Assert.Contains("video features have D=19, the audiovisual_proj weights expect D=37", message, StringComparison.Ordinal);

        // DEJR: the shared router fixes D, so video experts 19 wide (spliced in from a DEDR file) are refused at load.
        string dejr = dir.File("dejr-19.safetensors");
        SyntheticProjector.Write(dir.File("dejr.safetensors"), new SyntheticProjectorSpec { Layout = SmopLayout.Dejr, Experts = 2, AudioDim = Dim,
            VideoDim = Dim, HiddenDim = Hidden, OutputDim = Out });
        SyntheticProjector.Write(dir.File("dedr.safetensors"), new SyntheticProjectorSpec { Layout = SmopLayout.Dedr, Experts = 2, AudioDim = Dim,
            VideoDim = 19, HiddenDim = Hidden, OutputDim = Out });
        TensorSplice.Write(dejr, [(dir.File("dejr.safetensors"), n => !n.StartsWith(SmopNames.VideoPrefix, StringComparison.Ordinal)),
            (dir.File("dedr.safetensors"), n => n.StartsWith(SmopNames.VideoPrefix + "experts.", StringComparison.Ordinal))]);
        message = Assert.Throws<EdgeAvsrException>(() => SmopWeights.Load(dejr, SmopLayout.Dejr)).Message;
        Assert.Contains("tensor 'video_proj.experts.0.0.weight' has shape [29, 19], expected [I, 37] (D from 'av_router.weight')", message,
            StringComparison.Ordinal);
    }

    [Fact]
    public void Dedr_DifferentExpertCounts_PerModality_RunAndRecordEach()
    {
        // DEDR gives each modality its own router, so audio may have 5 experts and video 2.
        using var dir = new TempDir();
        string five = dir.File("five.safetensors"), two = dir.File("two.safetensors"), mixed = dir.File("mixed.safetensors");
        SyntheticProjector.Write(five, new SyntheticProjectorSpec { Layout = SmopLayout.Dedr, Experts = 5, AudioDim = Dim, VideoDim = Dim,
            HiddenDim = Hidden, OutputDim = Out, Seed = 3 });
        SyntheticProjector.Write(two, new SyntheticProjectorSpec { Layout = SmopLayout.Dedr, Experts = 2, AudioDim = Dim, VideoDim = Dim,
            HiddenDim = Hidden, OutputDim = Out, Seed = 4 });
        TensorSplice.Write(mixed, [(five, n => n.StartsWith(SmopNames.AudioPrefix, StringComparison.Ordinal)),
            (two, n => n.StartsWith(SmopNames.VideoPrefix, StringComparison.Ordinal))]);
        var weights = SmopWeights.Load(mixed, SmopLayout.Dedr);
        Assert.Equal((5, 2), (weights.Audio!.ExpertCount, weights.Video!.ExpertCount));
        var audio = SyntheticProjector.Features(21, Dim, seed: 1);
        var video = SyntheticProjector.Features(9, Dim, seed: 2);
        var got = SmopProjector.Create(weights, new SmopOptions { Routing = Top(2) }).Project(audio, video);
        var (ra, rv) = ReferenceSmop.Run(weights, audio, video, 2, 4, 2, int8Weights: false);
        Assert.Equal(ra!.Experts, got.Audio!.Experts);
        Assert.Equal(rv!.Experts, got.Video!.Experts);
        Assert.True(ReferenceSmop.RelativeL2(rv.Tokens, got.Video.Tokens.Data) <= 1e-5);
        Assert.Equal(5, got.ExpertRows["audio_proj"].Length);
        Assert.Equal(2, got.ExpertRows["video_proj"].Length);

        // k = 3 fits audio's 5 experts but not video's 2: refused up front, naming the mixture.
        string message = Assert.Throws<EdgeAvsrException>(() => SmopProjector.Create(weights, new SmopOptions { Routing = Top(3) })).Message;
        Assert.Contains("top-k 3 must be between 1 and the 2 experts of video_proj", message, StringComparison.Ordinal);

        // The INT8 file records each modality's count, and reads back to the same model.
        string int8 = dir.File("mixed.int8.safetensors");
        Int8ProjectorFile.Write(int8, weights, Top(2));
        using (var f = SafetensorsFile.Open(int8))
        {
            Assert.Equal("5", f.Metadata["audio_num_experts"]);
            Assert.Equal("2", f.Metadata["video_num_experts"]);
            Assert.False(f.Metadata.ContainsKey("num_experts"));
        }
        var loaded = SmopWeights.Load(int8, null);
        var q = SmopProjector.Create(loaded, new SmopOptions { Routing = Top(2), Precision = ProjectorPrecision.Int8 }).Project(audio, video);
        var (qa, qv) = ReferenceSmop.Run(loaded, audio, video, 2, 4, 2, int8Weights: true);
        Assert.Equal(qa!.Experts, q.Audio!.Experts);
        Assert.Equal(qv!.Experts, q.Video!.Experts);
        Assert.True(ReferenceSmop.RelativeL2(qv.Tokens, q.Video.Tokens.Data) <= 2e-2);
    }

    [Fact]
    public void WrongWidth_TooFewFrames_BadTopK_AreClearErrors()
    {
        using var dir = new TempDir();
        var weights = Make(dir, SmopLayout.Dedr, 3);
        var p = SmopProjector.Create(weights, new SmopOptions { Routing = Top(2) });
        Assert.Contains("audio features have D=12, the audio_proj weights expect D=37", Assert.Throws<EdgeAvsrException>(() =>
            p.Project(SyntheticProjector.Features(8, 12, 1), null)).Message, StringComparison.Ordinal);
        Assert.Contains("fewer than the pooling window of 4", Assert.Throws<EdgeAvsrException>(() =>
            p.Project(SyntheticProjector.Features(3, Dim, 1), null)).Message, StringComparison.Ordinal);
        Assert.Contains("top-k 4 must be between 1 and the 3 experts",
            Assert.Throws<EdgeAvsrException>(() => SmopProjector.Create(weights, new SmopOptions { Routing = Top(4) })).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Int8File_RoundTrip_EqualsQuantizeAtLoad_AndRecordsSettings()
    {
        using var dir = new TempDir();
        foreach (var layout in new[] { SmopLayout.Jejr, SmopLayout.Dejr, SmopLayout.Dedr })
        {
            var weights = Make(dir, layout, 4);
            string path = dir.File($"{layout}.int8.safetensors");
            Int8ProjectorFile.Write(path, weights, Top(2));
            var loaded = SmopWeights.Load(path, null);
            Assert.True(loaded.IsInt8);
            Assert.Equal(layout, loaded.Layout);
            Assert.Equal((2, 4, 2), (loaded.Routing!.TopK, loaded.Routing.AudioPool, loaded.Routing.VideoPool));
            using (var f = SafetensorsFile.Open(path))
            {
                string p = layout == SmopLayout.Jejr ? "audiovisual_proj." : "audio_proj.";
                Assert.Equal(TensorDType.I8, f.Get(p + "experts.0.0.weight").DType);
                Assert.Equal(TensorDType.F32, f.Get(p + "experts.0.0.weight_scale").DType);
                Assert.Equal(TensorDType.F32, f.Get(p + "experts.3.3.bias").DType);
                Assert.Equal("4", f.Metadata["num_experts"]);
            }
            var audio = SyntheticProjector.Features(20, Dim, 1);
            var video = SyntheticProjector.Features(10, Dim, 2);
            var a = SmopProjector.Create(weights, new SmopOptions { Routing = Top(2), Precision = ProjectorPrecision.Int8 }).Project(audio, video);
            var b = SmopProjector.Create(loaded, new SmopOptions { Routing = Top(2), Precision = ProjectorPrecision.Int8 }).Project(audio, video);
            Assert.Equal(a.Audio!.Tokens.Data, b.Audio!.Tokens.Data);
            Assert.Equal(a.Video!.Tokens.Data, b.Video!.Tokens.Data);
            // The library names the parameter; `edgeavsr project` says --precision (QuantizeProjectorCliTests).
            var e = Assert.Throws<EdgeAvsrException>(() => SmopProjector.Create(loaded, new SmopOptions { Routing = Top(2) }));
            Assert.Contains("precision int8", e.Message, StringComparison.Ordinal);
            Assert.Equal(["precision"], e.Parameters);
        }
    }

    [Fact]
    public void Loader_NamesMissingKeys_WrongLayout_NonFiniteWeights()
    {
        using var dir = new TempDir();
        Make(dir, SmopLayout.Jejr, 2);
        string jejr = dir.File($"{SmopLayout.Jejr}-2-F32-5.safetensors");
        var e = Assert.Throws<EdgeAvsrException>(() => SmopWeights.Load(jejr, SmopLayout.Dedr));
        Assert.Contains("needs 'audio_proj.gate.weight' or 'video_proj.gate.weight'", e.Message, StringComparison.Ordinal);
        Assert.Contains("look like layout jejr", e.Message, StringComparison.Ordinal);

        // Drop one expert tensor, then poison one weight.
        TensorSplice.Write(dir.File("missing.safetensors"), [(jejr, n => n != "audiovisual_proj.experts.1.2.bias")]);
        TensorSplice.Write(dir.File("nan.safetensors"), [(jejr, _ => true)], (t, raw) =>
        {
            if (t.Name == "audiovisual_proj.experts.1.0.weight")
            {
                BitConverter.GetBytes(float.NaN).CopyTo(raw, 8);
            }
            return (t.DType, raw);
        });
        Assert.Contains("tensor 'audiovisual_proj.experts.1.2.bias' is missing", Assert.Throws<EdgeAvsrException>(() =>
            SmopWeights.Load(dir.File("missing.safetensors"), SmopLayout.Jejr)).Message, StringComparison.Ordinal);
        Assert.Contains("'audiovisual_proj.experts.1.0.weight' holds NaN at flat index 2", Assert.Throws<EdgeAvsrException>(() =>
            SmopWeights.Load(dir.File("nan.safetensors"), SmopLayout.Jejr)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(TensorDType.F16)]
    [InlineData(TensorDType.BF16)]
    public void HalfPrecisionWeights_LoadAndMatchTheirWidenedValues(TensorDType dtype)
    {
        using var dir = new TempDir();
        var weights = Make(dir, SmopLayout.Dedr, 3, dtype);
        var audio = SyntheticProjector.Features(16, Dim, 1);
        var got = SmopProjector.Create(weights, new SmopOptions { Routing = Top(2) }).Project(audio, null);
        var (ra, _) = ReferenceSmop.Run(weights, audio, null, 2, 4, 2, false);
        Assert.True(ReferenceSmop.RelativeL2(ra!.Tokens, got.Audio!.Tokens.Data) <= 1e-5);

        // The widening itself, against the file's raw bits decoded here by the IEEE / bfloat16 definitions.
        using var file = SafetensorsFile.Open(dir.File($"{SmopLayout.Dedr}-3-{dtype}-5.safetensors"));
        byte[] raw = file.ReadRaw(file.Get("audio_proj.experts.1.0.weight"));
        float[] loaded = weights.Audio!.Experts[1].Up!;
        Assert.Equal(raw.Length / 2, loaded.Length);
        for (int i = 0; i < loaded.Length; i++)
        {
            ushort bits = BitConverter.ToUInt16(raw, 2 * i);
            Assert.Equal(dtype == TensorDType.BF16 ? BitConverter.Int32BitsToSingle(bits << 16) : DecodeHalf(bits), loaded[i]);
        }
    }

    private static float DecodeHalf(ushort bits)
    {
        int sign = bits >> 15 == 0 ? 1 : -1, exponent = (bits >> 10) & 0x1F, mantissa = bits & 0x3FF;
        Assert.NotEqual(0x1F, exponent); // generated weights are finite
        return (float)(sign * (exponent == 0 ? Math.ScaleB(mantissa, -24) : Math.ScaleB(1024 + mantissa, exponent - 25)));
    }

    [Fact]
    public void Pooling_MatchesAvgPool1d()
    {
        var x = new FloatMatrix([1, 10, 2, 20, 3, 30, 4, 40, 5, 50], 5, 2);
        var p = TemporalPooling.Average(x, 2);
        Assert.Equal(2, p.Rows);
        Assert.Equal(new float[] { 1.5f, 15, 3.5f, 35 }, p.Data);
    }
}
