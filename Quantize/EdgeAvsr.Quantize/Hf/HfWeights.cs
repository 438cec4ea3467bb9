using System.Text.Json;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Quantize.Hf;

/// <summary>
/// The tensors of a model spread over one or more safetensors files (model.safetensors, a sharded
/// model.safetensors.index.json set, or a single checkpoint), addressed by name with an optional prefix
/// ("llm." for the AVSR checkpoint). Reads one tensor at a time.
/// </summary>
public sealed class HfWeights : IDisposable
{
    private readonly List<SafetensorsFile> _files;
    private readonly Dictionary<string, SafetensorsFile> _where = new(StringComparer.Ordinal);

    private HfWeights(List<SafetensorsFile> files, string prefix, string description)
    {
        _files = files;
        Prefix = prefix;
        Description = description;
        foreach (var f in files)
        {
            foreach (string name in f.Tensors.Keys)
            {
                if (!_where.TryAdd(name, f))
                {
                    throw new EdgeAvsrException($"{f.FilePath}: tensor '{name}' is also in {_where[name].FilePath}");
                }
            }
        }
    }

    public string Prefix { get; }

    public string Description { get; }

    /// <summary>Opens model.safetensors or the shards listed in model.safetensors.index.json.</summary>
    public static HfWeights OpenDirectory(string directory)
    {
        string single = Path.Combine(directory, "model.safetensors");
        string index = Path.Combine(directory, "model.safetensors.index.json");
        if (File.Exists(index))
        {
            using var json = CheckedJson.Read(index, lenient: true);
            var map = json.Child(json.Root, "weight_map");
            var shards = map.EnumerateObject().Select(p => json.StringValue(p.Value, $"weight_map['{p.Name}']")).Distinct(StringComparer.Ordinal).ToArray();
            var files = OpenAll(shards.Select(s => Path.Combine(directory, s)));
            var w = new HfWeights(files, "", index);
            foreach (var p in map.EnumerateObject())
            {
                if (!w._where.TryGetValue(p.Name, out var f) || Path.GetFileName(f.FilePath) != p.Value.GetString())
                {
                    w.Dispose();
                    throw new EdgeAvsrException($"{index}: tensor '{p.Name}' is not in shard {p.Value.GetString()}");
                }
            }
            return w;
        }
        if (File.Exists(single))
        {
            return new HfWeights(OpenAll([single]), "", single);
        }
        throw new EdgeAvsrException($"{directory}: neither model.safetensors nor model.safetensors.index.json found");
    }

    /// <summary>Opens one safetensors file whose tensor names carry <paramref name="prefix"/>.</summary>
    public static HfWeights OpenFile(string path, string prefix = "") => new(OpenAll([path]), prefix, path);

    private static List<SafetensorsFile> OpenAll(IEnumerable<string> paths)
    {
        var files = new List<SafetensorsFile>();
        try
        {
            foreach (string p in paths)
            {
                files.Add(SafetensorsFile.Open(p));
            }
            return files;
        }
        catch
        {
            files.ForEach(f => f.Dispose());
            throw;
        }
    }

    public bool Contains(string name) => _where.ContainsKey(Prefix + name);

    /// <summary>Names (without the prefix) of all tensors that carry the prefix.</summary>
    public IEnumerable<string> Names => _where.Keys.Where(k => k.StartsWith(Prefix, StringComparison.Ordinal)).Select(k => k[Prefix.Length..]);

    public SafetensorsTensor Get(string name) =>
        _where.TryGetValue(Prefix + name, out var f) ? f.Get(Prefix + name) : throw new EdgeAvsrException($"{Description}: tensor '{Prefix + name}' " +
            "is missing");

    /// <summary>Reads a tensor as float32 after checking its shape and that every value is finite.</summary>
    public float[] ReadFloat32(string name, params long[] shape)
    {
        if (!_where.TryGetValue(Prefix + name, out var f))
        {
            throw new EdgeAvsrException($"{Description}: tensor '{Prefix + name}' is missing");
        }
        var t = f.Get(Prefix + name);
        if (shape.Length > 0 && !t.Shape.AsSpan().SequenceEqual(shape))
        {
            throw new EdgeAvsrException($"{f.FilePath}: tensor '{t.Name}' has shape {t.ShapeText}, expected {TensorDTypes.FormatShape(shape)}");
        }
        float[] data = f.ReadFloat32(t);
        for (int i = 0; i < data.Length; i++)
        {
            if (!float.IsFinite(data[i]))
            {
                throw new EdgeAvsrException($"{f.FilePath}: tensor '{Prefix + name}' holds {data[i]} at element {i}; weights must be finite");
            }
        }
        return data;
    }

    public void Dispose() => _files.ForEach(f => f.Dispose());
}
