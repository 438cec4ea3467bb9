using System.CommandLine;
using System.Globalization;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Audio.Vad;

namespace EdgeAvsr.Cli.Commands;

/// <summary><c>edgeavsr vad</c>: speech segments of any audio file by the pretrained Silero VAD (at 16 kHz).</summary>
internal static class VadCommand
{
    public static Command Create()
    {
        var audio = new Option<string>("--audio")
        {
            Description = "Audio file (WAV natively, anything else through ffmpeg; resampled to 16 kHz mono) or .npy float32 samples at 16 kHz",
            Required = true,
        };
        var model = new Option<string?>("--model")
        {
            Description = "Silero VAD .onnx (default: models/silero_vad.onnx beside the app, or $EDGEAVSR_MODELS_DIR)",
        };
        var threshold = new Option<float>("--threshold") { Description = "Speech starts at this probability", DefaultValueFactory = _ => 0.5f };
        var negative = new Option<float?>("--negative-threshold") { Description = "Silence below this probability (default threshold - 0.15)" };
        var minSpeech = new Option<int>("--min-speech-ms") { Description = "Drop segments shorter than this", DefaultValueFactory = _ => 250 };
        var minSilence = new Option<int>("--min-silence-ms") { Description = "Silence that ends a segment", DefaultValueFactory = _ => 100 };
        var pad = new Option<int>("--pad-ms") { Description = "Padding added to each side of a segment", DefaultValueFactory = _ => 30 };
        var window = new Option<int>("--window") { Description = "Samples per model step: 512, 1024 or 1536", DefaultValueFactory = _ => 512 };
        var command = new Command("vad", "Print the speech segments (start and end in seconds) of an audio file");
        foreach (var o in new Option[] { audio, model, threshold, negative, minSpeech, minSilence, pad, window })
        {
            command.Options.Add(o);
        }
        CommandActions.Set(command, parse =>
        {
            var options = new VadOptions
            {
                Threshold = parse.GetValue(threshold),
                NegativeThreshold = parse.GetValue(negative),
                MinSpeechMs = parse.GetValue(minSpeech),
                MinSilenceMs = parse.GetValue(minSilence),
                SpeechPadMs = parse.GetValue(pad),
                WindowSamples = parse.GetValue(window),
            };
            string path = parse.GetValue(audio)!;
            var samples = VadAudioInput.Read(path);
            using var vad = SileroVad.Open(parse.GetValue(model));
            var segments = vad.Detect(samples, options);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{path}: {samples.Length / 16000.0:0.000} s, {segments.Count} speech segment(s) (Silero VAD {vad.ModelPath})"));
            foreach (var s in segments)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{s.Start:0.000}\t{s.End:0.000}"));
            }
            return ExitCodes.Success;
        });
        return command;
    }
}
