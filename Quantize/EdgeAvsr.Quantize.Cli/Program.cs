using System.CommandLine;
using EdgeAvsr.Cli;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Quantize.Cli;

public static class Program
{
    public static int Main(string[] args) => BuildRoot().Parse(args).Invoke();

    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("edgeavsr-quantize: trained checkpoint in, edge model pieces out");
        root.Subcommands.Add(CreateProjector());
        root.Subcommands.Add(Commands.LlmCommand.Create());
        root.Subcommands.Add(Commands.EncoderCommand.Create());
        root.Subcommands.Add(Commands.PackCommand.Create());
        root.Subcommands.Add(Commands.PackCommand.CreateSynthetic());
        return root;
    }

    private static Command CreateProjector()
    {
        var weights = new Option<string>("--weights")
        {
            Description = "Float projector state dict (.safetensors, F32/F16/BF16, the authors' key names)",
            Required = true,
        };
        var layout = CommonOptions.Layout();
        var topK = new Option<int>("--top-k") { Description = "Experts per token the model was trained with", Required = true };
        var audioPool = new Option<int>("--audio-pool") { Description = "Audio pooling window", DefaultValueFactory = _ => 4 };
        var videoPool = new Option<int>("--video-pool") { Description = "Video pooling window", DefaultValueFactory = _ => 2 };
        var output = new Option<string>("--out") { Description = "INT8 projector file to write (.safetensors)", Required = true };
        var command = new Command("projector", "Quantize a SMoP projector to EdgeAvsr's INT8 projector file (docs/int8-projector-format.md)");
        foreach (var o in new Option[] { weights, layout, topK, audioPool, videoPool, output })
        {
            command.Options.Add(o);
        }
        CommandActions.Set(command, p =>
        {
            string source = p.GetValue(weights)!;
            var w = SmopWeights.Load(source, p.GetValue(layout));
            int k = p.GetValue(topK);
            int experts = (w.Audio ?? w.Video)!.ExpertCount;
            if (k < 1 || k > experts)
            {
                throw new EdgeAvsrException($"--top-k {k} must be between 1 and the {experts} experts in {source}");
            }
            if (p.GetValue(audioPool) < 1 || p.GetValue(videoPool) < 1)
            {
                throw new EdgeAvsrException("--audio-pool and --video-pool must be >= 1");
            }
            var routing = RoutingSettings.Create(k, p.GetValue(audioPool), p.GetValue(videoPool));
            Int8ProjectorFile.Write(p.GetValue(output)!, w, routing, Path.GetFileName(source));
            Console.WriteLine($"wrote {p.GetValue(output)} (layout {w.Layout.ToText()}, {experts} experts, top-{k})");
            return ExitCodes.Success;
        });
        return command;
    }
}
