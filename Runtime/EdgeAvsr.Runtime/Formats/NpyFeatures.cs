namespace EdgeAvsr.Runtime.Formats;

/// <summary>Feature matrices in .npy files: encoder outputs, projector tokens.</summary>
public static class NpyFeatures
{
    /// <summary>
    /// A .npy float32 <c>[T, D]</c> (a leading batch of one, <c>[1, T, D]</c>, is dropped), not empty, every value
    /// finite; <paramref name="noun"/> names the rows in messages (features, tokens).
    /// </summary>
    public static FloatMatrix Read(string path, string noun = "features")
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new EdgeAvsrException($"{path}: file not found");
        }
        var array = NpyFile.ReadFloat32(path);
        long[] s = array.Shape;
        if (s.Length == 3 && s[0] == 1)
        {
            s = [s[1], s[2]];
        }
        if (s.Length != 2)
        {
            throw new EdgeAvsrException($"{path}: shape {TensorDTypes.FormatShape(array.Shape)}, expected [T, D] or [1, T, D] {noun}");
        }
        if (s[0] == 0 || s[1] == 0)
        {
            throw new EdgeAvsrException($"{path}: empty input, shape {TensorDTypes.FormatShape(array.Shape)}");
        }
        for (int i = 0; i < array.Data.Length; i++)
        {
            if (!float.IsFinite(array.Data[i]))
            {
                throw new EdgeAvsrException($"{path}: value {array.Data[i]} at row {i / s[1]}, column {i % s[1]}; {noun} must be finite");
            }
        }
        return new FloatMatrix(array.Data, checked((int)s[0]), checked((int)s[1]));
    }
}
