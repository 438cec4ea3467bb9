namespace EdgeAvsr.Runtime.Formats;

/// <summary>Element types of the tensor files EdgeAvsr reads and writes (safetensors names).</summary>
public enum TensorDType
{
    F64,
    F32,
    F16,
    BF16,
    I64,
    I32,
    I16,
    I8,
    U8,
    Bool,
}
