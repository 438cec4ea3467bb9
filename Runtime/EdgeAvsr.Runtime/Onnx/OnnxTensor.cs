using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Runtime.Onnx;

/// <summary>
/// A dense tensor in managed memory (float32, int64 or int32). Inputs are handed to ORT over the pinned array,
/// without a copy; outputs whose shape the model fixes are written by ORT straight into a new array, the others are
/// copied out of ORT's buffer once.
/// </summary>
public sealed class OnnxTensor
{
    private OnnxTensor(Array data, long[] shape, OnnxElementType type)
    {
        long n = 1;
        foreach (long d in shape)
        {
            if (d < 0)
            {
                throw new ArgumentException($"negative dimension in shape {TensorDTypes.FormatShape(shape)}", nameof(shape));
            }
            n = checked(n * d);
        }
        if (n != data.Length)
        {
            throw new ArgumentException($"{data.Length} elements do not fill shape {TensorDTypes.FormatShape(shape)}", nameof(data));
        }
        Data = data;
        Shape = shape;
        ElementType = type;
    }

    public Array Data { get; }

    public long[] Shape { get; }

    public OnnxElementType ElementType { get; }

    public static OnnxTensor Float(float[] data, params long[] shape) => new(data, shape, OnnxElementType.Float);

    public static OnnxTensor Int64(long[] data, params long[] shape) => new(data, shape, OnnxElementType.Int64);

    public static OnnxTensor Int32(int[] data, params long[] shape) => new(data, shape, OnnxElementType.Int32);

    public float[] Floats => Data as float[] ?? throw new InvalidOperationException($"tensor is {ElementType.ToText()}, not float32");

    public long[] Int64s => Data as long[] ?? throw new InvalidOperationException($"tensor is {ElementType.ToText()}, not int64");

    internal int ElementSize => ElementType switch
    {
        OnnxElementType.Float or OnnxElementType.Int32 => 4,
        OnnxElementType.Int64 => 8,
        _ => throw new InvalidOperationException($"unsupported element type {ElementType}"),
    };

    internal static OnnxTensor Allocate(OnnxElementType type, long[] shape)
    {
        long n = 1;
        foreach (long d in shape)
        {
            n = checked(n * d);
        }
        int count = checked((int)n);
        return type switch
        {
            OnnxElementType.Float => new OnnxTensor(new float[count], shape, type),
            OnnxElementType.Int64 => new OnnxTensor(new long[count], shape, type),
            OnnxElementType.Int32 => new OnnxTensor(new int[count], shape, type),
            _ => throw new EdgeAvsrException($"model output of type {type.ToText()} is not supported (float32, int64, int32)"),
        };
    }
}
