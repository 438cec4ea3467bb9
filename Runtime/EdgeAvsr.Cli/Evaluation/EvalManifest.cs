using System.Text;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Cli.Evaluation;

/// <summary>One line of an evaluation manifest: a media file, its reference words and its noise condition.</summary>
internal sealed record EvalItem(string MediaPath, string Text, string Noise, string Snr, string Id)
{
    /// <summary>The condition column: <c>clean</c>, or the noise and SNR (<c>babble 0</c>).</summary>
    public string Condition => Noise == "clean" ? "clean" : $"{Noise} {Snr}";
}

/// <summary>
/// The test set's <c>test.jsonl</c> (Models/data/make_testset.py): one JSON object per line with <c>media</c> (a path
/// relative to the manifest's folder), <c>text</c>, <c>noise</c> (clean, babble, white), <c>snr</c> (clean, 10, 5, 0,
/// -5) and <c>id</c> (the utterance; every condition of it carries the same video).
/// </summary>
internal static class EvalManifest
{
    public static IReadOnlyList<EvalItem> Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new EdgeAvsrException($"{path}: no such evaluation manifest");
        }
        string folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var items = new List<EvalItem>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            using var json = CheckedJson.Parse(Encoding.UTF8.GetBytes(line), $"{path}:{lineNumber}");
            var root = json.Object(json.Root, "line");
            string noise = json.String(root, "noise");
            if (noise is not ("clean" or "babble" or "white"))
            {
                throw new EdgeAvsrException($"{path}:{lineNumber}: noise '{noise}' is not clean, babble or white");
            }
            string snr = json.String(root, "snr");
            if (snr is not ("clean" or "10" or "5" or "0" or "-5"))
            {
                throw new EdgeAvsrException($"{path}:{lineNumber}: snr '{snr}' is not clean, 10, 5, 0 or -5");
            }
            items.Add(new EvalItem(Path.Combine(folder, json.String(root, "media")), json.String(root, "text"), noise, snr, json.String(root, "id")));
        }
        if (items.Count == 0)
        {
            throw new EdgeAvsrException($"{path}: the manifest lists no media");
        }
        return items;
    }
}
