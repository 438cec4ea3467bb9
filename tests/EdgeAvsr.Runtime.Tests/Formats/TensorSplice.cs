using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Runtime.Tests.Formats;

/// <summary>Builds damaged or mixed safetensors files for tests from the tensors of existing ones.</summary>
internal static class TensorSplice
{
    /// <summary>
    /// Writes <paramref name="target"/> (which may be one of the sources) from each source's tensors that its filter
    /// keeps, in order, with the sources' metadata dropped; <paramref name="edit"/> may replace a tensor's dtype and bytes.
    /// </summary>
    public static void Write(string target, IEnumerable<(string Path, Func<string, bool> Keep)> sources, Func<SafetensorsTensor, byte[],
        (TensorDType, byte[])>? edit = null)
    {
        var tensors = new List<(string Name, TensorDType DType, long[] Shape, byte[] Data)>();
        foreach (var (path, keep) in sources)
        {
            using var file = SafetensorsFile.Open(path);
            foreach (var t in file.Tensors.Values.Where(t => keep(t.Name)))
            {
                var (dtype, data) = edit is null ? (t.DType, file.ReadRaw(t)) : edit(t, file.ReadRaw(t));
                tensors.Add((t.Name, dtype, t.Shape, data));
            }
        }
        var writer = new SafetensorsWriter();
        foreach (var t in tensors)
        {
            writer.Add(t.Name, t.DType, t.Shape, t.Data);
        }
        writer.Write(target);
    }

    /// <summary>Rewrites <paramref name="path"/> without the tensors <paramref name="drop"/> names.</summary>
    public static void Drop(string path, Func<string, bool> drop) => Write(path, [(path, n => !drop(n))]);
}
