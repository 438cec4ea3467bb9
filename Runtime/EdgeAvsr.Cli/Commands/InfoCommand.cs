using System.CommandLine;
using System.Globalization;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Onnx;
using EdgeAvsr.Runtime.Pack;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Cli.Commands;

/// <summary><c>edgeavsr info PACK [--verify]</c>: the manifest, file sizes and what would run where.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var pack = new Argument<string>("PACK") { Description = "Model pack folder (holds manifest.json)" };
        var verify = new Option<bool>("--verify") { Description = "Recompute every file's SHA-256 and compare with the manifest" };
        var ep = new Option<string?>("--ep") { Description = "Execution providers for the encoders instead of the manifest's (e.g. cpu)" };
        var command = new Command("info", "Check a model pack (files, sizes, widths, special tokens) and print its manifest and what would run where");
        command.Arguments.Add(pack);
        command.Options.Add(verify);
        command.Options.Add(ep);
        CommandActions.Set(command, parse =>
        {
            string? providers = parse.GetValue(ep);
            var p = PackInspection.Run(parse.GetValue(pack)!, new PackInspectionOptions
            {
                VerifyHashes = parse.GetValue(verify),
                ResolveDecoderBackend = true,
                EncoderProviders = providers is null ? null : CommonOptions.ParseProviders(providers),
            });
            Console.Write(Describe(p, parse.GetValue(verify)));
            return ExitCodes.Success;
        });
        return command;
    }

    internal static string Describe(PackInspection inspection, bool verified)
    {
        var pack = inspection.Pack;
        var m = pack.Manifest;
        var c = CultureInfo.InvariantCulture;
        var w = new StringWriter(c);
        w.WriteLine($"pack      {pack.Directory}");
        w.WriteLine($"name      {m.Name} (manifest schema {m.SchemaVersion})");
        w.WriteLine($"tasks     {string.Join(", ", m.Tasks.Select(t => t.ToText()))}");
        var pr = m.Projector;
        var r = pr.Routing;
        w.WriteLine(string.Create(c, $"projector {pr.Layout.ToText()}, {pr.Experts} experts, top-{r.TopK}, pooling audio {r.AudioPool} video {r.VideoPool}, "
            + $"{pr.Precision.ToText()}, D audio {Dim(pr.AudioInputDim)} video {Dim(pr.VideoInputDim)} -> hidden {pr.HiddenDim} -> d_llm {pr.OutputDim}"));
        foreach (var (name, e) in new[] { ("audio", m.AudioEncoder), ("video", m.VideoEncoder) })
        {
            if (e is not null)
            {
                string providers = string.Join(",", e.ExecutionProviders.Select(x => x.ToText()));
                w.WriteLine(string.Create(c, $"{name} enc '{e.InputName}' -> '{e.OutputName}' [1, T, {e.OutputDim}], providers {providers}"));
            }
        }
        var d = m.Decoder;
        w.WriteLine(string.Create(c, $"decoder   {d.Type}, d={d.EmbeddingDim}, LoRA reduction {d.LoraReduction} alpha {d.LoraAlpha} (merged)"));
        var f = m.FrontEnd;
        w.WriteLine(string.Create(c, $"front-end audio {f.SampleRate} Hz, waveform normalisation {(f.WaveformNormalization ? "on" : "off")}, "
            + $"log-mel {f.MelBins}x{f.MelFrames}; video {f.VideoFps} fps, crop {f.CropSize} -> ROI {f.RoiSize}, (x - {f.RoiMean}) / {f.RoiStd}"));
        var s = m.SpecialTokens;
        w.WriteLine(string.Create(c, $"tokens    <pad> {s.Pad}, <audio> {s.AudioStart}, </audio> {s.AudioEnd}, <video> {s.VideoStart}, </video> {s.VideoEnd}"));
        foreach (var (task, text) in m.Prompts.OrderBy(kv => kv.Key))
        {
            w.WriteLine($"prompt    {task.ToText()}: {text}");
        }
        w.WriteLine(string.Create(c, $"decoding  {m.Decoding.Beams} beam(s), at most {m.Decoding.MaxNewTokens} new tokens"));
        w.WriteLine("runs on");
        foreach (var pl in inspection.Placements)
        {
            w.WriteLine(string.Create(c, $"  {pl.Part,-14} {pl.File} ({pl.Bytes:N0} bytes): {pl.Where}"));
        }
        w.WriteLine("files");
        foreach (var file in m.Files)
        {
            w.WriteLine(string.Create(c, $"  {file.Path} {file.Bytes:N0} bytes sha256 {file.Sha256}"));
        }
        string hashes = verified ? "every SHA-256 verified" : "sizes checked, hashes not verified (--verify)";
        w.WriteLine(string.Create(c, $"total     {m.Files.Sum(x => x.Bytes):N0} bytes; {hashes}"));
        return w.ToString();
    }

    private static string Dim(int? d) => d?.ToString(CultureInfo.InvariantCulture) ?? "-";
}
