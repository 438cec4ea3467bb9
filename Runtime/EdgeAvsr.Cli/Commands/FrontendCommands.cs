using System.CommandLine;
using System.Globalization;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Audio;

namespace EdgeAvsr.Cli.Commands;

/// <summary><c>edgeavsr features</c> (audio to Whisper log-mel) and <c>edgeavsr frames</c> (video to mouth ROI).</summary>
internal static class FrontendCommands
{
    public static Command CreateFeatures()
    {
        var audio = new Option<string>("--audio") { Description = "Audio file: WAV (PCM 8/16/24/32, float 32/64, any channels) or anything ffmpeg decodes", Required = true };
        var output = new Option<string>("--out") { Description = "Output .npy, float32 [80, 3000]; a .json with the duration is written beside it", Required = true };
        var normalize = new Option<bool>("--normalize") { Description = "Normalise the waveform to zero mean and unit variance first (as Llama-AVSR does for some models)" };
        var threads = new Option<int>("--threads") { Description = "Worker threads (default: one per core)", DefaultValueFactory = _ => 0 };
        var command = new Command("features", "Whisper log-mel features of an audio file (resampled to 16 kHz, padded or trimmed to 30 s); prints the duration in seconds");
        foreach (var o in new Option[] { audio, output, normalize, threads })
        {
            command.Options.Add(o);
        }
        command.SetAction(parse => CliAction.Run(() =>
        {
            var result = FeatureJob.Run(new FeatureRequest
            {
                AudioPath = parse.GetValue(audio)!,
                OutputPath = parse.GetValue(output)!,
                Normalize = parse.GetValue(normalize),
                Threads = parse.GetValue(threads),
            });
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"duration_seconds: {result.DurationSeconds:0.######}"));
            if (result.DurationSeconds > 30)
            {
                Console.WriteLine("note: audio longer than 30 s; the features hold its first 30 s");
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"source rate {result.SourceSampleRate} Hz{(result.SourceSampleRate != WhisperLogMel.SampleRate ? " resampled to 16000 Hz" : "")}"));
            Console.WriteLine($"wrote {result.MelPath} [80, 3000] float32");
            Console.WriteLine($"wrote {result.SidecarPath}");
            return ExitCodes.Success;
        }));
        return command;
    }
}
