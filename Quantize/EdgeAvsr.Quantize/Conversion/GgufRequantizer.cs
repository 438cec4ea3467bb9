using System.Runtime.InteropServices;
using EdgeAvsr.Quantize.Gguf;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Formats.Gguf;

namespace EdgeAvsr.Quantize.Conversion;

/// <summary>
/// Quantizes a float llama GGUF (F32/F16 tensors) to one of the file types, as llama_model_quantize does
/// for the same input: metadata copied with general.file_type and general.quantization_version set,
/// tensors in llama.cpp's order, the per-tensor type rule of <see cref="LlamaQuantRule"/>. The next
/// tensor is read while the current one is quantized.
/// </summary>
public static class GgufRequantizer
{
    public static int Quantize(string input, string output, LlamaFileType fileType, int threads, IProgress<ConversionProgress>? progress = null)
    {
        using var src = GgufFile.Open(input);
        var hp = LlamaGgufValidator.Validate(src);
        var tensors = src.Tensors.OrderBy(t => t.Name, Comparer<string>.Create(LlamaQuantRule.CompareNames)).ToList();
        foreach (var t in tensors)
        {
            if (t.Type is not (GgmlType.F32 or GgmlType.F16))
            {
                throw new EdgeAvsrException($"{input}: tensor '{t.Name}' is {GgmlTypes.Name(t.Type)}; only F32/F16 inputs are quantized (no requantizing)");
            }
        }
        var plan = tensors.Select(t => new PlannedTensor(t.Name, t.Ne, TensorRole.AttnNorm, -1, t.Name)).ToList();
        var types = LlamaQuantRule.Assign(plan, fileType, hp.BlockCount, hp.HeadCount, hp.HeadCountKv);
        for (int i = 0; i < tensors.Count; i++)
        {
            // Tensors the rule leaves alone keep their type (llama.cpp copies them).
            if (!LlamaQuantRule.IsQuantizable(plan[i].Name, plan[i].Ne))
            {
                types[i] = tensors[i].Type;
            }
        }
        var writer = new GgufWriter(src.Alignment);
        foreach (var (k, v) in src.Metadata)
        {
            if (k != "general.alignment")
            {
                writer.Set(k, v);
            }
        }
        // llama.cpp's gguf_set_val on an existing key moves it to the end; doing the same keeps the files identical byte for byte.
        writer.Remove("general.quantization_version");
        writer.SetUInt32("general.quantization_version", 2);
        writer.Remove("general.file_type");
        writer.SetUInt32("general.file_type", (uint)fileType);
        for (int i = 0; i < tensors.Count; i++)
        {
            writer.AddTensor(tensors[i].Name, types[i], tensors[i].Ne);
        }
        // The next tensor is read while the current one is quantized.
        Task<float[]>? next = null;
        GgmlEncoder.WriteTensors(writer, output, i =>
        {
            float[] values = next is null ? ReadFloats(src, tensors[i]) : next.GetAwaiter().GetResult();
            next = i + 1 < tensors.Count ? Task.Run(() => ReadFloats(src, tensors[i + 1])) : null;
            return values;
        }, Math.Max(1, threads), progress);
        return tensors.Count;
    }

    private static float[] ReadFloats(GgufFile src, GgufTensorInfo t)
    {
        var result = new float[t.ElementCount];
        if (t.Type == GgmlType.F32)
        {
            const int piece = 1 << 26;
            for (long i = 0; i < result.LongLength; i += piece)
            {
                int n = (int)Math.Min(piece, result.LongLength - i);
                src.ReadTensor(t, i * sizeof(float), MemoryMarshal.AsBytes(result.AsSpan((int)i, n)));
            }
        }
        else
        {
            var halves = MemoryMarshal.Cast<byte, Half>(src.ReadTensor(t));
            for (int i = 0; i < result.Length; i++)
            {
                result[i] = (float)halves[i];
            }
        }
        for (int i = 0; i < result.Length; i++)
        {
            if (!float.IsFinite(result[i]))
            {
                throw new EdgeAvsrException($"{src.FilePath}: tensor '{t.Name}' holds {result[i]} at element {i}; weights must be finite");
            }
        }
        return result;
    }
}
