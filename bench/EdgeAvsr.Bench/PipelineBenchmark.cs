using EdgeAvsr.Cli;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Pipeline;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Bench;

/// <summary>
/// <c>edgeavsr-bench pipeline</c>: real-time cadence, which the tests leave out on purpose. The same clip goes through
/// <see cref="AvsrPipeline"/> twice in one run: as a file (as fast as possible, finals only: the baseline, reported as a
/// real-time factor) and live (a source that releases each chunk only when the wall clock reaches its stream time, with
/// partial captions every second and stale partials dropped as a microphone would need). Reported per caption kind:
/// latency from the moment the stream held the caption's media to the caption's arrival, partials delivered and dropped.
/// </summary>
internal static class PipelineBenchmark
{
    public static Command CreateCommand()
    {
        var pack = new Option<string>("--model") { Description = "Model pack folder", Required = true };
        var input = new Option<string>("--input") { Description = "Clip with audio and/or video (e.g. from Models/media/make_clip.py)", Required = true };
        var threads = new Option<int>("--threads") { Description = "Threads per stage (default: one per core)", DefaultValueFactory = _ => 0 };
        var beams = new Option<int?>("--beams") { Description = "Beams for finals (default: the pack's)" };
        var chunk = new Option<double>("--chunk") { Description = "Seconds of stream per chunk in the live run", DefaultValueFactory = _ => 0.1 };
        var command = new Command("pipeline", "Live cadence of the streaming pipeline (caption latency, partials kept up) against a file run of the same clip");
        foreach (var o in new Option[] { pack, input, threads, beams, chunk })
        {
            command.Options.Add(o);
        }
        command.SetAction((p, token) => CliAction.RunAsync(() => RunAsync(
            p.GetValue(pack)!, p.GetValue(input)!, p.GetValue(threads), p.GetValue(beams), p.GetValue(chunk), token)));
        return command;
    }

    private static async Task<int> RunAsync(string packPath, string input, int threads, int? beams, double chunkSeconds, CancellationToken token)
    {
        var media = new MediaClipRequest { InputPath = input };
        var inspected = MediaClip.Inspect(media);
        var streams = inspected.Streams;
        using var models = AvsrModels.Load(packPath, new AvsrModelOptions { Threads = threads, Log = _ => { } });
        var (task, reason) = TaskSelection.Choose(null, streams, models.Manifest.Tasks);
        var recognition = new RecognitionOptions { Beams = beams };
        Console.WriteLine(Inv($"machine: {Environment.ProcessorCount} cores; threads {ThreadCount.Resolve(threads)} per stage; load average ") +
            Inv($"{BenchStats.LoadAverage()}"));
        // Each run reads the file afresh: the live run decodes as a capture would deliver, the file run as transcribe does.
        MediaFileSource Source() => new(media, wantAudio: streams.HasAudio, wantVideo: task != AvsrTask.Asr, inspected);
        var first = Source();
        Console.WriteLine(Inv($"clip: {input}; {first.EstimatedDurationSeconds:0.##} s; task {task.ToText()} ({reason}); pack {models.Manifest.Name}: ") +
            Inv($"decoder {models.Manifest.Decoder.Type}, projector {models.Manifest.Projector.Precision.ToText()}"));

        // Baseline: the file as fast as it goes, finals only (what transcribe does).
        var offline = new AvsrPipeline(models, task, first.Streams, new AvsrPipelineOptions { PartialInterval = null, Recognition = recognition });
        var clock = Stopwatch.StartNew();
        int finals = 0;
        await foreach (var _ in offline.RunAsync(first.ReadAsync(TimeSpan.FromSeconds(0.5), token), token).ConfigureAwait(false))
        {
            finals++;
        }
        double fileSeconds = clock.Elapsed.TotalSeconds;
        double duration = first.DurationSeconds;
        Console.WriteLine(Inv($"file run: {finals} final caption(s) in {fileSeconds:0.###} s: real-time factor {fileSeconds / duration:0.###}"));

        // Live: chunks released at their stream time; latency counted from when the stream held the caption's media.
        var live = new AvsrPipeline(models, task, first.Streams, new AvsrPipelineOptions { SkipPartialsWhenBusy = true, Recognition = recognition });
        var partial = new List<double>();
        var final = new List<double>();
        var start = Stopwatch.StartNew();
        await foreach (var c in live.RunAsync(Paced(Source(), chunkSeconds, start, token), token).ConfigureAwait(false))
        {
            double latency = start.Elapsed.TotalSeconds - c.DecidedAt;
            (c.IsFinal ? final : partial).Add(latency);
        }
        Console.WriteLine(Inv($"live run ({chunkSeconds:0.###} s chunks, partial every 1 s of stream): {final.Count} final(s), {partial.Count} partial(s) ") +
            Inv($"delivered, {live.PartialsDropped} dropped (front-end busy, or a newer caption of the utterance waiting)"));
        Report("final", final);
        Report("partial", partial);
        double last = final.Count > 0 ? final[^1] : double.NaN;
        Console.WriteLine(Inv($"live run ended {start.Elapsed.TotalSeconds - duration:0.###} s after the stream did (the last final's latency {last:0.###} ") +
            Inv($"s); the file run needed {fileSeconds:0.###} s for all of it"));
        return ExitCodes.Success;
    }

    private static void Report(string kind, List<double> latencies)
    {
        if (latencies.Count == 0)
        {
            Console.WriteLine($"  {kind,-7} latency: none");
            return;
        }
        Console.WriteLine(Inv($"  {kind,-7} latency: median {BenchStats.Median(latencies):0.###} s, p95 {BenchStats.Percentile(latencies, 95):0.###} s, max ") +
            Inv($"{latencies.Max():0.###} s ({latencies.Count})"));
    }

    private static async IAsyncEnumerable<MediaChunk> Paced(
        MediaFileSource source, double chunkSeconds, Stopwatch start, [EnumeratorCancellation] CancellationToken token = default)
    {
        await foreach (var c in source.ReadAsync(TimeSpan.FromSeconds(chunkSeconds), token).ConfigureAwait(false))
        {
            // A chunk exists once its last sample has been captured.
            double ready = c.Timestamp.TotalSeconds + chunkSeconds;
            double wait = ready - start.Elapsed.TotalSeconds;
            if (wait > 0)
            {
                await Task.Delay(TimeSpan.FromSeconds(wait), token).ConfigureAwait(false);
            }
            yield return c;
        }
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
