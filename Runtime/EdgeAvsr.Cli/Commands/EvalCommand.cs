using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using EdgeAvsr.Cli.Evaluation;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Pipeline;

namespace EdgeAvsr.Cli.Commands;

/// <summary>
/// <c>edgeavsr eval</c>: word error rate of a pack on a test set of media files (Models/data/make_testset.py's
/// <c>test.jsonl</c>), per task and noise condition, with the same keys and measure as Models/train/evaluate_media.py.
/// </summary>
internal static class EvalCommand
{
    private static readonly string[] s_conditionOrder =
        ["clean", "babble 10", "babble 5", "babble 0", "babble -5", "white 10", "white 5", "white 0", "white -5"];

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model pack folder (from edgeavsr-quantize pack)", Required = true };
        var manifest = new Option<string>("--manifest") { Description = "Test set: JSON lines of media, text, noise, snr, id", Required = true };
        var tasks = new Option<string?>("--task") { Description = "Tasks to evaluate, comma-separated: asr,vsr,avsr (default: every task of the pack)" };
        var snrs = new Option<string?>("--snr") { Description = "SNRs to evaluate, comma-separated: clean,10,5,0,-5 (default: all)" };
        var limit = new Option<int?>("--limit") { Description = "Evaluate the first N utterances (ids) of the manifest only" };
        var beams = new Option<int>("--beams") { Description = "Beam width", DefaultValueFactory = _ => 1 };
        var vad = new Option<bool>("--vad") { Description = "Cut utterances with the VAD as transcribe does (default: each file in encoder windows)" };
        var ep = CommonOptions.ProvidersOverride("Execution providers for the encoders instead of the pack's (e.g. cpu)");
        var threads = CommonOptions.Threads("Threads per stage (default: one per core)");
        var backend = CommonOptions.Backend("Decoder backend: auto | cpu | cuda");
        var exact = new Option<bool>("--exact-numerics") { Description = "Decoder without flash attention and with an F32 KV cache" };
        var threadPolicy = CommonOptions.ThreadPolicy();
        var output = new Option<string?>("--out") { Description = "Write the results (WER per task/noise/snr, every hypothesis) here as JSON" };
        var workers = new Option<int>("--jobs")
        {
            Description = "Files transcribed at once, each worker with its own copy of the models (media decoding waits on ffmpeg)",
            DefaultValueFactory = _ => 1,
        };
        var command = new Command("eval", "Word error rate of a pack on a test set of media files, per task and noise condition");
        foreach (var o in new Option[] { model, manifest, tasks, snrs, limit, beams, vad, ep, threads, threadPolicy, backend, exact, output, workers })
        {
            command.Options.Add(o);
        }
        CommandActions.SetAsync(command, async (parse, cancellation) =>
        {
            var items = EvalManifest.Read(parse.GetValue(manifest)!);
            if (parse.GetValue(snrs) is { } snrText)
            {
                var wanted = Split(snrText, "--snr", ["clean", "10", "5", "0", "-5"]);
                items = [.. items.Where(i => wanted.Contains(i.Snr))];
            }
            if (parse.GetValue(limit) is int n)
            {
                if (n < 1)
                {
                    throw new EdgeAvsrException($"--limit {n} must be at least 1");
                }
                var ids = items.Select(i => i.Id).Distinct().Take(n).ToHashSet();
                items = [.. items.Where(i => ids.Contains(i.Id))];
            }
            if (parse.GetValue(beams) < 1)
            {
                throw new EdgeAvsrException($"--beams {parse.GetValue(beams)} must be at least 1");
            }
            int jobCount = parse.GetValue(workers);
            if (jobCount < 1)
            {
                throw new EdgeAvsrException($"--jobs {jobCount} must be at least 1");
            }
            string pack = parse.GetValue(model)!;
            string? providers = parse.GetValue(ep);
            var clock = Stopwatch.StartNew();
            var loadOptions = new AvsrModelOptions
            {
                Threads = parse.GetValue(threads),
                EncoderProviders = providers is null ? null : CommonOptions.ParseProviders(providers),
                ExactNumerics = parse.GetValue(exact),
                DecoderThreadPolicy = parse.GetValue(threadPolicy),
                DecoderBackend = parse.GetValue(backend),
                LoadVad = parse.GetValue(vad),
                Log = _ => { },
            };
            // Each worker's stages are used by one thread at a time, so every worker loads its own models.
            var modelSets = new List<AvsrModels>();
            using var release = new ModelSets(modelSets);
            for (int i = 0; i < jobCount; i++)
            {
                modelSets.Add(AvsrModels.Load(pack, loadOptions));
            }
            var supported = modelSets[0].Manifest.Tasks;
            var chosen = parse.GetValue(tasks) is { } taskText
                ? Split(taskText, "--task", [.. supported.Select(t => t.ToText())]).Select(t => EnumText<AvsrTask>.Parse(t, "task")).ToList()
                : [.. supported];
            var jobs = Jobs(items, chosen);
            var results = new SortedDictionary<string, WordErrors>(StringComparer.Ordinal);
            var hypotheses = new List<(EvalItem Item, AvsrTask Task, string Hypothesis)>();
            var progress = Console.IsErrorRedirected ? null : new EvalProgress(jobs.Count);
            var options = new AvsrPipelineOptions
            {
                PartialInterval = null,
                Recognition = new RecognitionOptions { Beams = parse.GetValue(beams) },
            };
            var answers = new string[jobs.Count];
            // A file is decoded once for all of its tasks: the work unit is one file with the jobs that read it.
            var units = jobs.Select((job, index) => (job.Item, job.Task, Index: index)).GroupBy(j => j.Item).Select(g => g.ToList()).ToList();
            int next = -1;
            var gate = new object();
            await Task.WhenAll(modelSets.Select(models => Task.Run(async () =>
            {
                for (int u = Interlocked.Increment(ref next); u < units.Count; u = Interlocked.Increment(ref next))
                {
                    var unit = units[u];
                    string[] said = await TranscribeAsync(models, unit[0].Item, [.. unit.Select(j => j.Task)], options, cancellation).ConfigureAwait(false);
                    lock (gate)
                    {
                        for (int k = 0; k < unit.Count; k++)
                        {
                            answers[unit[k].Index] = said[k];
                            progress?.Advance(Key(unit[k].Item, unit[k].Task));
                        }
                    }
                }
            }, cancellation))).ConfigureAwait(false);
            for (int j = 0; j < jobs.Count; j++)
            {
                var (item, task) = jobs[j];
                string key = Key(item, task);
                if (!results.TryGetValue(key, out var errors))
                {
                    results[key] = errors = new WordErrors();
                }
                errors.Add(item.Text, answers[j]);
                hypotheses.Add((item, task, answers[j]));
            }
            progress?.Clear();
            double seconds = clock.Elapsed.TotalSeconds;
            Console.Out.Write(Table(results, chosen));
            int utterances = items.Select(i => i.Id).Distinct().Count();
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{utterances} utterances, {jobs.Count} transcriptions of {items.Count} files in {seconds:0.#} s ({pack}, beams {parse.GetValue(beams)}, " +
                $"{jobCount} job(s))"));
            if (parse.GetValue(output) is { } path)
            {
                AtomicFile.WriteAllText(path, Json(pack, utterances, items.Count, seconds, results, hypotheses));
            }
            return ExitCodes.Success;
        });
        return command;
    }

    // VSR reads only the lips, which every condition of an utterance shares: it runs once per utterance (key vsr/-/-).
    private static List<(EvalItem Item, AvsrTask Task)> Jobs(IReadOnlyList<EvalItem> items, IReadOnlyList<AvsrTask> tasks)
    {
        var jobs = new List<(EvalItem, AvsrTask)>();
        var lipsDone = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            foreach (var task in tasks)
            {
                if (task != AvsrTask.Vsr || lipsDone.Add(item.Id))
                {
                    jobs.Add((item, task));
                }
            }
        }
        return jobs;
    }

    private static async Task<string[]> TranscribeAsync(AvsrModels models, EvalItem item, IReadOnlyList<AvsrTask> tasks, AvsrPipelineOptions options,
        CancellationToken cancellation)
    {
        var request = new MediaClipRequest { InputPath = item.MediaPath };
        var inspected = MediaClip.Inspect(request);
        foreach (var task in tasks)
        {
            TaskSelection.RequireStreams(task, inspected.Streams);
        }
        // Evaluation clips are seconds long: their chunks are kept and replayed to each task's pipeline, which sees the
        // streams it would have read on its own (ASR no video), chunk for chunk.
        var source = new MediaFileSource(request, wantAudio: inspected.Streams.HasAudio, wantVideo: tasks.Any(t => t != AvsrTask.Asr), inspected);
        var chunks = new List<MediaChunk>();
        await foreach (var chunk in source.ReadAsync(TimeSpan.FromSeconds(0.5), cancellation).ConfigureAwait(false))
        {
            chunks.Add(chunk);
        }
        var said = new string[tasks.Count];
        for (int t = 0; t < tasks.Count; t++)
        {
            bool video = tasks[t] != AvsrTask.Asr && source.Streams.HasVideo;
            var pipeline = new AvsrPipeline(models, tasks[t], new MediaStreams(source.Streams.HasAudio, video), options);
            var words = new StringBuilder();
            await foreach (var caption in pipeline.RunAsync(Replay(chunks, video), cancellation).ConfigureAwait(false))
            {
                if (caption.Text.Length > 0)
                {
                    words.Append(words.Length > 0 ? " " : "").Append(caption.Text.Trim());
                }
            }
            said[t] = words.ToString();
        }
        return said;
    }

    private static async IAsyncEnumerable<MediaChunk> Replay(List<MediaChunk> chunks, bool withVideo)
    {
        foreach (var chunk in chunks)
        {
            if (withVideo || chunk is not VideoChunk)
            {
                yield return chunk;
            }
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    private static string Key(EvalItem item, AvsrTask task) =>
        task == AvsrTask.Vsr ? "vsr/-/-" : $"{task.ToText()}/{item.Noise}/{item.Snr}";

    private static string Table(SortedDictionary<string, WordErrors> results, IReadOnlyList<AvsrTask> tasks)
    {
        var conditions = s_conditionOrder
            .Where(c => results.Keys.Any(k => k != "vsr/-/-" && Condition(k) == c))
            .ToList();
        if (conditions.Count == 0)
        {
            conditions.Add("any");
        }
        var text = new StringBuilder();
        text.Append("| task (WER %) | ").AppendJoin(" | ", conditions).AppendLine(" |");
        text.Append("| --- |").Append(string.Concat(Enumerable.Repeat(" --- |", conditions.Count))).AppendLine();
        foreach (var task in tasks)
        {
            text.Append("| ").Append(task.ToText().ToUpperInvariant()).Append(" |");
            foreach (string condition in conditions)
            {
                string key = task == AvsrTask.Vsr ? "vsr/-/-" : results.Keys.FirstOrDefault(k => k.StartsWith(task.ToText() + "/", StringComparison.Ordinal)
                    && Condition(k) == condition) ?? "";
                text.Append(results.TryGetValue(key, out var e) ? string.Create(CultureInfo.InvariantCulture, $" {100 * e.Rate:0.0} |") : " - |");
            }
            text.AppendLine();
        }
        return text.ToString();
    }

    // "asr/babble/0" -> "babble 0"; "asr/clean/clean" -> "clean".
    private static string Condition(string key)
    {
        var parts = key.Split('/');
        return parts[1] == "clean" ? "clean" : $"{parts[1]} {parts[2]}";
    }

    private static string Json(string pack, int utterances, int files, double seconds, SortedDictionary<string, WordErrors> results,
        List<(EvalItem Item, AvsrTask Task, string Hypothesis)> hypotheses)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("model", pack);
            w.WriteString("engine", "edgeavsr");
            w.WriteNumber("utterances", utterances);
            w.WriteNumber("files", files);
            w.WriteNumber("seconds", Math.Round(seconds, 1));
            w.WriteStartObject("wer");
            foreach (var (key, errors) in results)
            {
                w.WriteNumber(key, errors.Rate);
            }
            w.WriteEndObject();
            w.WriteStartArray("hypotheses");
            foreach (var (item, task, hypothesis) in hypotheses)
            {
                w.WriteStartObject();
                w.WriteString("media", Path.GetFileName(item.MediaPath));
                w.WriteString("task", task.ToText());
                w.WriteString("ref", item.Text);
                w.WriteString("hyp", hypothesis);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    private static HashSet<string> Split(string text, string flag, IReadOnlyList<string> allowed)
    {
        var words = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
        if (words.Count == 0 || words.FirstOrDefault(w => !allowed.Contains(w)) is { } bad)
        {
            throw new EdgeAvsrException($"{flag} '{text}': each of {string.Join(", ", allowed)} expected");
        }
        return words;
    }

    private sealed class ModelSets(List<AvsrModels> sets) : IDisposable
    {
        public void Dispose()
        {
            foreach (var m in sets)
            {
                m.Dispose();
            }
        }
    }

    /// <summary>A one-line bar on stderr (a terminal only): transcriptions done, rate, and the current condition.</summary>
    private sealed class EvalProgress(int total)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private int _done;

        public void Advance(string key)
        {
            _done++;
            const int Width = 30;
            int filled = (int)((long)Width * _done / total);
            double rate = _done / Math.Max(_clock.Elapsed.TotalSeconds, 1e-3);
            Console.Error.Write(string.Create(CultureInfo.InvariantCulture,
                $"\r[{new string('#', filled)}{new string('.', Width - filled)}] {_done}/{total} ({rate:0.0}/s) {key,-16}"));
        }

        public void Clear() => Console.Error.Write("\r" + new string(' ', 80) + "\r");
    }
}
