namespace EdgeAvsr.Runtime.Video;

/// <summary>
/// The mouth region as the authors' pipeline feeds AV-HuBERT: 96x96 mouth-centred grayscale crops,
/// centre-cropped to 88x88, scaled to [0, 1] and normalised with mean 0.421 and std 0.165.
/// </summary>
public static class MouthRoi
{
    public const int CropSize = 96;
    public const int RoiSize = 88;
    public const float Mean = 0.421f;
    public const float Std = 0.165f;

    /// <summary>[T, 96, 96] crops to [T, 88, 88] normalised floats (row-major).</summary>
    public static float[] FromCrops(GrayFrames crops)
    {
        ArgumentNullException.ThrowIfNull(crops);
        if (crops.Width != CropSize || crops.Height != CropSize)
        {
            throw new ArgumentException($"mouth crops must be {CropSize}x{CropSize}, got {crops.Width}x{crops.Height}");
        }
        const int offset = (CropSize - RoiSize) / 2;
        var result = new float[crops.Count * RoiSize * RoiSize];
        var lut = new float[256];
        for (int v = 0; v < 256; v++)
        {
            lut[v] = (v / 255f - Mean) / Std;
        }
        for (int t = 0; t < crops.Count; t++)
        {
            var frame = crops.Frame(t);
            var dst = result.AsSpan(t * RoiSize * RoiSize, RoiSize * RoiSize);
            for (int y = 0; y < RoiSize; y++)
            {
                var row = frame.Slice((y + offset) * CropSize + offset, RoiSize);
                for (int x = 0; x < RoiSize; x++)
                {
                    dst[y * RoiSize + x] = lut[row[x]];
                }
            }
        }
        return result;
    }
}
