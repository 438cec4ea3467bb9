namespace EdgeAvsr.Runtime.Formats.Gguf;

/// <summary>One tensor of a GGUF file: name, type, dimensions (ne[0] = row length) and data offset relative to the data section.</summary>
public sealed record GgufTensorInfo(string Name, GgmlType Type, long[] Ne, long Offset, long ByteSize)
{
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long d in Ne)
            {
                n *= d;
            }
            return n;
        }
    }

    public long Rows => Ne.Length == 0 ? 1 : ElementCount / Math.Max(1, Ne[0]);

    public string ShapeText => TensorDTypes.FormatShape(Ne);
}
