using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Audio;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Cli.Commands;

/// <summary>
/// <c>edgeavsr features</c>: an audio file (WAV natively, anything else via ffmpeg) to a Whisper log-mel .npy
/// float32 [80, 3000] and beside it a .json holding exactly <c>{"duration_seconds": S}</c> (what <c>encode</c> trims by).
/// </summary>
internal static class FeaturesCommand
{
    public const string DurationKey = "duration_seconds";

    public static Command Create()
    {
        var audio = new Option<string>("--audio")
        {
            Description = "Audio file: WAV (PCM 8/16/24/32, float 32/64, any channels) or anything ffmpeg decodes",
            Required = true,
        };
        var output = new Option<string>("--out")
        {
            Description = "Output .npy, float32 [80, 3000]; a .json with the duration is written beside it",
            Required = true,
        };
        var normalize = new Option<bool>("--normalize")
        {
            Description = "Normalise the waveform to zero mean and unit variance first (as Llama-AVSR does for some models)",
        };
        var threads = CommonOptions.Threads();
        var melFrames = new Option<int>("--mel-frames")
        {
            Description = "Log-mel frames of the window: 3000 (Whisper's 30 s) or a pack's front_end.mel_frames",
            DefaultValueFactory = _ => WhisperLogMel.Frames,
        };
        var command = new Command("features",
            "Whisper log-mel features of an audio file (resampled to 16 kHz, padded or trimmed to 30 s); prints the duration in seconds");
        foreach (var o in new Option[] { audio, output, normalize, threads, melFrames })
        {
            command.Options.Add(o);
        }
        CommandActions.Set(command, parse =>
        {
            string outPath = parse.GetValue(output)!;
            if (string.Equals(Path.GetExtension(outPath), ".json", StringComparison.OrdinalIgnoreCase))
            {
                throw new EdgeAvsrException($"{outPath}: the features go to a .npy file (the .json beside it holds the duration)");
            }
            int workers = parse.GetValue(threads);
            ThreadCount.Check(workers);
            var signal = AudioLoader.Load(parse.GetValue(audio)!);
            int frames = parse.GetValue(melFrames);
            if (frames is < 1 or > WhisperLogMel.Frames)
            {
                throw new EdgeAvsrException($"--mel-frames {frames}: expected 1 to {WhisperLogMel.Frames}");
            }
            float[] mel = LogMelFeatures.Compute(signal, parse.GetValue(normalize), workers, frames);
            string sidecar = SidecarPath(outPath);
            NpyFile.Write(outPath, mel, WhisperLogMel.MelBins, frames);
            WriteSidecar(sidecar, signal.DurationSeconds);
            var c = CultureInfo.InvariantCulture;
            Console.WriteLine(string.Create(c, $"duration_seconds: {signal.DurationSeconds:0.######}"));
            if (signal.DurationSeconds > 30)
            {
                Console.WriteLine("note: audio longer than 30 s; the features hold its first 30 s");
            }
            string resampled = signal.SampleRate != WhisperLogMel.SampleRate ? " resampled to 16000 Hz" : "";
            Console.WriteLine(string.Create(c, $"source rate {signal.SampleRate} Hz{resampled}"));
            Console.WriteLine($"wrote {outPath} [80, 3000] float32");
            Console.WriteLine($"wrote {sidecar}");
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary><c>mel.npy</c> -> <c>mel.json</c>.</summary>
    public static string SidecarPath(string melPath) => Path.ChangeExtension(melPath, ".json");

    public static void WriteSidecar(string path, double durationSeconds) =>
        AtomicFile.Write(path, s =>
        {
            using var w = new Utf8JsonWriter(s);
            w.WriteStartObject();
            w.WriteNumber(DurationKey, durationSeconds);
            w.WriteEndObject();
        });
}
