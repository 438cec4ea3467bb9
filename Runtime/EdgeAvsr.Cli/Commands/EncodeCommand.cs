using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using EdgeAvsr.Cli.Options;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Encoders;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Onnx;

namespace EdgeAvsr.Cli.Commands;

/// <summary>What <c>edgeavsr encode</c> asks for.</summary>
internal sealed record EncodeRequest
{
    public required string ModelPath { get; init; }

    /// <summary>.npy float32: a log-mel [80, 3000] / [1, 80, 3000], or mouth crops [T, 88, 88] / [1, 1, T, 88, 88].</summary>
    public required string InputPath { get; init; }

    public required string OutputPath { get; init; }

    /// <summary>Audio duration for the trim; when null, the <c>duration_seconds</c> of the .json beside the input.</summary>
    public double? AudioSeconds { get; init; }

    public OnnxSessionOptions Session { get; init; } = new();
}

/// <summary>What was done, for the command to print.</summary>
internal sealed record EncodeResult(EncoderKind Kind, ExecutionProvider Provider, int States, int Dim, string? Trim, string OutputPath);

/// <summary>
/// <c>edgeavsr encode</c>: an encoder ONNX model on ONNX Runtime with the execution providers in the order given; reads the
/// input .npy, runs the encoder, trims audio states, writes float32 [1, T, D].
/// </summary>
internal static class EncodeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model")
        {
            Description = "Encoder .onnx: audio (input_features [1,80,3000]) or video (video [1,1,T,88,88])",
            Required = true,
        };
        var input = new Option<string>("--input")
        {
            Description = "Log-mel .npy [80,3000] (from `features`) or mouth crops .npy [T,88,88] (from `frames`)",
            Required = true,
        };
        var output = new Option<string>("--out") { Description = "Encoder states, .npy float32 [1, T, D]", Required = true };
        var seconds = new Option<double?>("--audio-seconds")
        {
            Description = "Audio duration: keeps the first max(int(S*50), 25) states (default: duration_seconds of the .json beside --input)",
        };
        var command = new Command("encode", "Run an audio or video encoder (ONNX) on features; the model's input tells which");
        foreach (var o in new Option[] { model, input, output, seconds })
        {
            command.Options.Add(o);
        }
        OrtOptions.AddTo(command);
        CommandActions.Set(command, parse =>
        {
            var result = Run(new EncodeRequest
            {
                ModelPath = parse.GetValue(model)!,
                InputPath = parse.GetValue(input)!,
                OutputPath = parse.GetValue(output)!,
                AudioSeconds = parse.GetValue(seconds),
                Session = OrtOptions.Read(parse),
            });
            string kind = result.Kind == EncoderKind.Audio ? "audio" : "video";
            Console.WriteLine($"{kind} encoder on {result.Provider.ToText()}: {result.States} states x {result.Dim}");
            if (result.Trim is not null)
            {
                Console.WriteLine(result.Trim);
            }
            Console.WriteLine($"wrote {result.OutputPath}");
            return ExitCodes.Success;
        });
        return command;
    }

    public static EncodeResult Run(EncodeRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var input = NpyFile.ReadFloat32(request.InputPath);
        using var encoder = EncoderSession.Open(request.ModelPath, request.Session);
        FloatMatrix states;
        string? trim = null;
        long[] s = input.Shape;
        if (encoder.Kind == EncoderKind.Audio)
        {
            int frames = encoder.AudioWindowFrames;
            bool ok = (s.Length == 2 && s[0] == EncoderSession.MelBins && s[1] == frames)
                || (s.Length == 3 && s[0] == 1 && s[1] == EncoderSession.MelBins && s[2] == frames);
            if (!ok)
            {
                throw new EdgeAvsrException($"{request.InputPath}: shape {TensorDTypes.FormatShape(s)} is not a log-mel for the audio encoder "
                    + $"{request.ModelPath}; expected [80, {frames}] or [1, 80, {frames}]");
            }
            double? seconds = request.AudioSeconds;
            if (seconds is not null)
            {
                trim = "--audio-seconds";
            }
            else if (ReadSidecar(request.InputPath) is (double fromFile, string sidecar))
            {
                seconds = fromFile;
                trim = sidecar;
            }
            states = encoder.EncodeAudio(input.Data, seconds);
            trim = seconds is double d
                ? string.Create(CultureInfo.InvariantCulture,
                    $"kept the first {states.Rows} of {EncoderSession.AudioStates} states for {d:0.###} s (from {trim})")
                : $"no duration known (no --audio-seconds, no .json beside {request.InputPath}): all {states.Rows} states kept";
        }
        else
        {
            bool ok = (s.Length == 3 && s[1] == EncoderSession.RoiSize && s[2] == EncoderSession.RoiSize && s[0] > 0)
                || (s.Length == 5 && s[0] == 1 && s[1] == 1 && s[2] > 0 && s[3] == EncoderSession.RoiSize && s[4] == EncoderSession.RoiSize);
            if (!ok)
            {
                throw new EdgeAvsrException($"{request.InputPath}: shape {TensorDTypes.FormatShape(s)} is not mouth crops for the video encoder "
                    + $"{request.ModelPath}; expected [T, 88, 88] or [1, 1, T, 88, 88] with T >= 1");
            }
            if (request.AudioSeconds is not null)
            {
                throw new EdgeAvsrException($"--audio-seconds applies to an audio encoder; {request.ModelPath} is a video encoder");
            }
            states = encoder.EncodeVideo(input.Data, checked((int)s[^3]));
        }
        NpyFile.Write(request.OutputPath, states.Data, 1, states.Rows, states.Columns);
        return new EncodeResult(encoder.Kind, encoder.Provider, states.Rows, states.Columns, trim, request.OutputPath);
    }

    /// <summary>
    /// <c>{"duration_seconds": S}</c> from <c>X.json</c> (or <c>X.npy.json</c>) beside <c>X.npy</c>, as <c>edgeavsr features</c>
    /// writes it; null when there is none. A sidecar that exists but lacks the key is an error.
    /// </summary>
    public static (double Seconds, string Path)? ReadSidecar(string npyPath)
    {
        ArgumentNullException.ThrowIfNull(npyPath);
        foreach (string candidate in new[] { Path.ChangeExtension(npyPath, ".json"), npyPath + ".json" })
        {
            if (!File.Exists(candidate))
            {
                continue;
            }
            byte[] bytes = File.ReadAllBytes(candidate);
            try
            {
                var reader = new Utf8JsonReader(bytes);
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                {
                    throw new EdgeAvsrException($"{candidate}: not a JSON object; expected {{\"duration_seconds\": S}}");
                }
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    bool key = reader.ValueTextEquals(FeaturesCommand.DurationKey);
                    reader.Read();
                    if (key)
                    {
                        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDouble(out double seconds) || !double.IsFinite(seconds) || seconds < 0)
                        {
                            throw new EdgeAvsrException($"{candidate}: duration_seconds is not a non-negative number");
                        }
                        return (seconds, candidate);
                    }
                    reader.Skip();
                }
            }
            catch (JsonException e)
            {
                throw new EdgeAvsrException($"{candidate}: not valid JSON: {e.Message}");
            }
            throw new EdgeAvsrException($"{candidate}: no \"duration_seconds\" key; expected {{\"duration_seconds\": S}}");
        }
        return null;
    }
}
