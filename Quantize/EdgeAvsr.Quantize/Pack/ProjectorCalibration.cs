using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Quantize.Pack;

/// <summary>One expert's share of the calibration tokens and its INT8 error on them.</summary>
/// <param name="Expert">Expert index.</param>
/// <param name="Tokens">Token slots the fp32 router sent it (each token counts once per top-k slot it takes).</param>
/// <param name="RelativeError">||y_int8 - y_fp32||_F / ||y_fp32||_F of the expert's own output on the tokens the fp32 router sent it (NaN when it
/// received none).</param>
public sealed record ExpertCalibration(int Expert, int Tokens, double RelativeError);

/// <summary>One modality's mixture: tokens, the mixed output's error, and per expert.</summary>
public sealed record MixtureCalibration(string Modality, string Mixture, int Tokens, double MixedRelativeError, IReadOnlyList<ExpertCalibration> Experts);

/// <summary>The INT8 projector's calibration report.</summary>
/// <param name="Source">Where the features came from (e.g. synthetic seeded features).</param>
/// <param name="Kernel">The INT8 kernel measured.</param>
/// <param name="Mixtures">Per modality.</param>
public sealed record CalibrationReport(string Source, string Kernel, IReadOnlyList<MixtureCalibration> Mixtures)
{
    public const string FileName = "calibration.json";

    public void Write(string path) => AtomicFile.Write(path, stream =>
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        w.WriteStartObject();
        w.WriteString("features", Source);
        w.WriteString("int8_kernel", Kernel);
        w.WriteString("relative_error", "||y_int8 - y_fp32||_F / ||y_fp32||_F; per expert on the tokens the fp32 router sent it (top-k slots), mixed " +
            "= the projector's output tokens");
        w.WriteStartArray("mixtures");
        foreach (var m in Mixtures)
        {
            w.WriteStartObject();
            w.WriteString("modality", m.Modality);
            w.WriteString("mixture", m.Mixture);
            w.WriteNumber("tokens", m.Tokens);
            w.WriteNumber("mixed_relative_error", m.MixedRelativeError);
            w.WriteStartArray("experts");
            foreach (var e in m.Experts)
            {
                w.WriteStartObject();
                w.WriteNumber("expert", e.Expert);
                w.WriteNumber("tokens", e.Tokens);
                if (double.IsNaN(e.RelativeError))
                {
                    w.WriteNull("relative_error");
                }
                else
                {
                    w.WriteNumber("relative_error", e.RelativeError);
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    });

    public string Describe()
    {
        var c = CultureInfo.InvariantCulture;
        var s = new StringWriter(c);
        s.WriteLine($"calibration: {Source}; INT8 kernel {Kernel}");
        foreach (var m in Mixtures)
        {
            s.WriteLine(string.Create(c, $"  {m.Modality} ({m.Mixture}): {m.Tokens} tokens, mixed output relative error {m.MixedRelativeError:0.0000e+0}"));
            foreach (var e in m.Experts)
            {
                s.WriteLine(string.Create(c,
                    $"    expert {e.Expert}: {e.Tokens} token slots, relative error " +
                    $"{(double.IsNaN(e.RelativeError) ? "- (no tokens)" : e.RelativeError.ToString("0.0000e+0", c))}"));
            }
        }
        return s.ToString();
    }
}

/// <summary>
/// Measures an INT8 projector against its fp32 weights on calibration features through the runtime's own kernels:
/// the whole projector (mixed tokens), and each expert alone on the pooled tokens the fp32 router sent it (run as a
/// one-expert mixture, so the INT8 expert runs exactly as in the projector).
/// </summary>
public static class ProjectorCalibration
{
    /// <summary>
    /// Seeded standard-normal features, <paramref name="frames"/> per modality, when no media is given;
    /// <paramref name="int8"/> is <see cref="SmopWeights.ToInt8"/> of <paramref name="fp32"/> (the weights written).
    /// </summary>
    public static CalibrationReport Synthetic(SmopWeights fp32, SmopWeights int8, RoutingSettings routing, int frames = 400, int seed = 11)
    {
        ArgumentNullException.ThrowIfNull(fp32);
        var audio = fp32.Audio is null ? null : SyntheticProjector.Features(frames, fp32.Audio.InputDim, seed);
        var video = fp32.Video is null ? null : SyntheticProjector.Features(frames, fp32.Video.InputDim, seed + 1);
        return Measure(fp32, int8, routing, audio, video,
            string.Create(CultureInfo.InvariantCulture,
                $"synthetic: {frames} seeded standard-normal frames per modality (seed {seed}); no --calibration media given"));
    }

    /// <summary>Measures <paramref name="int8"/> (<see cref="SmopWeights.ToInt8"/> of <paramref name="fp32"/>) against <paramref name="fp32"/> on the
    /// given features.</summary>
    public static CalibrationReport Measure(SmopWeights fp32, SmopWeights int8, RoutingSettings routing, FloatMatrix? audio, FloatMatrix? video, string source)
    {
        ArgumentNullException.ThrowIfNull(fp32);
        ArgumentNullException.ThrowIfNull(int8);
        if (!int8.IsInt8)
        {
            throw new ArgumentException("expected the INT8 weights", nameof(int8));
        }
        var options = new SmopOptions { Routing = routing, Precision = ProjectorPrecision.Fp32 };
        var reference = SmopProjector.Create(fp32, options);
        var quantized = SmopProjector.Create(int8, options with { Precision = ProjectorPrecision.Int8 });
        var mixtures = new List<MixtureCalibration>();
        foreach (var (modality, frames) in new[] { (Modality.Audio, audio), (Modality.Video, video) })
        {
            var mixture = fp32.For(modality);
            var mixture8 = int8.For(modality);
            if (frames is null || mixture is null || mixture8 is null)
            {
                continue;
            }
            var r = Tokens(reference.Project(modality == Modality.Audio ? frames : null, modality == Modality.Video ? frames : null), modality);
            var q = Tokens(quantized.Project(modality == Modality.Audio ? frames : null, modality == Modality.Video ? frames : null), modality);
            var pooled = TemporalPooling.Average(frames, routing.Pool(modality));
            var experts = new List<ExpertCalibration>();
            for (int e = 0; e < mixture.ExpertCount; e++)
            {
                var rows = new List<int>();
                for (int i = 0; i < r.Experts.Length; i++)
                {
                    if (r.Experts[i] == e)
                    {
                        rows.Add(i / r.TopK);
                    }
                }
                experts.Add(new ExpertCalibration(e, rows.Count, rows.Count == 0 ? double.NaN : ExpertError(mixture.Experts[e], mixture8.Experts[e],
                    pooled, rows)));
            }
            mixtures.Add(new MixtureCalibration(modality.ToText(), mixture.Name, r.Tokens.Rows, RelativeL2.Of(r.Tokens.Data, q.Tokens.Data), experts));
        }
        return new CalibrationReport(source, quantized.KernelName, mixtures);
    }

    private static ModalityTokens Tokens(ProjectorOutput output, Modality modality) =>
        (modality == Modality.Audio ? output.Audio : output.Video) ?? throw new InvalidOperationException("the projector returned no tokens for " +
            "" + modality.ToText());

    private static double ExpertError(ExpertWeights expert32, ExpertWeights expert8, FloatMatrix pooled, List<int> rows)
    {
        var x = new FloatMatrix(rows.Count, pooled.Columns);
        for (int i = 0; i < rows.Count; i++)
        {
            pooled.Row(rows[i]).CopyTo(x.Row(i));
        }
        SmopWeights Single(ExpertWeights expert) => new()
        {
            Layout = SmopLayout.Dedr,
            Audio = new MixtureWeights { Name = "calibration", RouterKey = "calibration", Router = new float[pooled.Columns], Experts = [expert] },
            IsInt8 = expert.IsInt8,
        };
        var options = new SmopOptions { Routing = RoutingSettings.Create(1, 1, 1), Precision = ProjectorPrecision.Fp32 };
        var y32 = SmopProjector.Create(Single(expert32), options).Project(x, null).Audio!.Tokens.Data;
        var y8 = SmopProjector.Create(Single(expert8), options with { Precision = ProjectorPrecision.Int8 }).Project(x, null).Audio!.Tokens.Data;
        return RelativeL2.Of(y32, y8);
    }
}
