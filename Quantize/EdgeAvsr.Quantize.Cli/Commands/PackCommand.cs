using System.CommandLine;
using EdgeAvsr.Cli;
using EdgeAvsr.Quantize.Conversion;
using EdgeAvsr.Quantize.Pack;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Encoders;
using EdgeAvsr.Runtime.Onnx;
using EdgeAvsr.Runtime.Projector;
using EdgeAvsr.Synthetic;

namespace EdgeAvsr.Quantize.Cli.Commands;

/// <summary>
/// <c>edgeavsr-quantize pack</c>: trained checkpoint to a model pack (docs/model-pack.md); and
/// <c>edgeavsr-quantize synthetic-checkpoint</c>: a seeded checkpoint (tiny for tests, 1b for benchmarks) and its training config.
/// </summary>
internal static class PackCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint")
        {
            Description = "Trained Llama-SMoP state dict (.safetensors; the authors' keys)",
            Required = true,
        };
        var trainConfig = new Option<string>("--train-config")
        {
            Description = "JSON of the training arguments under the authors' names (docs/model-pack.md)",
            Required = true,
        };
        var hf = new Option<string>("--hf") { Description = "Base Hugging Face Llama directory the checkpoint's LLM was trained from", Required = true };
        var audio = new Option<string?>("--audio-encoder") { Description = "Audio encoder ONNX (Models/encoders/export_encoder.py)" };
        var video = new Option<string?>("--video-encoder") { Description = "Video encoder ONNX (Models/encoders/export_encoder.py)" };
        var llmType = LlmCommand.FileTypeOption("--llm-type");
        var precision = ChoiceOptions.Words("--projector-precision", "int8 (with a calibration report) | fp32", "int8",
            ("int8", ProjectorPrecision.Int8), ("fp32", ProjectorPrecision.Fp32));
        var encoderPrecision = ChoiceOptions.Words("--encoder-precision", "fp32 (copied) | int8 (QDQ, calibrated on --calibration)", "fp32",
            ("fp32", EncoderPrecision.Fp32), ("int8", EncoderPrecision.Int8));
        var calibration = new Option<string?>("--calibration")
        {
            Description = "Media folder (audio files; mouth-crop videos) that calibrates the INT8 encoders and the INT8 projector's report " +
                "(default: seeded synthetic features)",
        };
        var ep = CommonOptions.Providers("Encoders' execution providers to record, in order", "tensorrt,cuda,cpu");
        var name = new Option<string?>("--name") { Description = "Pack name (default: the output folder's name)" };
        var threads = CommonOptions.Threads("Worker threads for the LLM conversion", () => Environment.ProcessorCount);
        var output = new Option<string>("--out") { Description = "Pack folder to create (must not exist)", Required = true };
        var command = new Command("pack", "Build an edge model pack (encoders, projector, decoder GGUF, manifest.json) from a trained checkpoint");
        foreach (var o in new Option[] { checkpoint, trainConfig, hf, audio, video, llmType, precision, encoderPrecision, calibration, ep, name, threads,
            output })
        {
            command.Options.Add(o);
        }
        CommandActions.Set(command, p =>
        {
            var request = new PackRequest
            {
                Checkpoint = p.GetValue(checkpoint)!,
                TrainConfig = p.GetValue(trainConfig)!,
                HfDirectory = p.GetValue(hf)!,
                AudioEncoder = p.GetValue(audio),
                VideoEncoder = p.GetValue(video),
                LlmType = p.GetValue(llmType),
                ProjectorPrecision = p.GetValue(precision),
                EncoderPrecision = p.GetValue(encoderPrecision),
                ExecutionProviders = CommonOptions.ParseProviders(p.GetValue(ep)!),
                Name = p.GetValue(name),
                CalibrationDirectory = p.GetValue(calibration),
                Threads = p.GetValue(threads) >= 1 ? p.GetValue(threads) : throw new EdgeAvsrException("--threads must be >= 1"),
                OutputDirectory = p.GetValue(output)!,
            };
            PackBuilder.Build(request, Console.WriteLine);
            return ExitCodes.Success;
        });
        return command;
    }

    public static Command CreateSynthetic()
    {
        var size = new Option<string>("--size")
        {
            Description = "tiny (tests) | 1b (Llama-3.2-1B + Whisper-medium + AV-HuBERT Large widths, E 4, k 2; for benchmarks)",
            DefaultValueFactory = _ => "tiny",
        };
        var audio = new Option<string>("--audio-encoder-weights")
        {
            Description = "export_encoder.py --arch whisper --size tiny|medium --save-weights output",
            Required = true,
        };
        var video = new Option<string>("--video-encoder-weights")
        {
            Description = "export_encoder.py --arch avhubert --size tiny|large --save-weights output",
            Required = true,
        };
        var seed = new Option<int>("--seed") { Description = "Seed of the LLM and projector weights", DefaultValueFactory = _ => 7 };
        var layout = ChoiceOptions.Of<SmopLayout>("--layout", "jejr | dejr | dedr", SmopLayout.Dedr);
        var output = new Option<string>("--out") { Description = "Checkpoint to write (.safetensors)", Required = true };
        var trainConfig = new Option<string>("--train-config") { Description = "Training-arguments JSON to write beside it", Required = true };
        var hf = new Option<string>("--hf") { Description = "Folder to write the base Hugging Face Llama into", Required = true };
        var command = new Command("synthetic-checkpoint",
            "Write a seeded Llama-SMoP checkpoint (authors' key layout, tiny or 1B sizes), its training config and base HF model");
        foreach (var o in new Option[] { size, audio, video, seed, layout, output, trainConfig, hf })
        {
            command.Options.Add(o);
        }
        CommandActions.Set(command, p =>
        {
            var spec = SyntheticCheckpointSpec.ForSize(p.GetValue(size)!, p.GetValue(seed)) with
            {
                Layout = p.GetValue(layout),
                AudioEncoderWeights = p.GetValue(audio),
                VideoEncoderWeights = p.GetValue(video),
            };
            SyntheticCheckpoint.Write(p.GetValue(output)!, spec, p.GetValue(hf));
            SyntheticCheckpoint.TrainConfigFor(spec).Write(p.GetValue(trainConfig)!);
            Console.WriteLine($"wrote {p.GetValue(output)}, {p.GetValue(trainConfig)}, {p.GetValue(hf)}");
            return ExitCodes.Success;
        });
        return command;
    }
}
