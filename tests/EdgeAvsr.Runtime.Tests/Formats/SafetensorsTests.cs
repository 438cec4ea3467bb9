using System.Buffers.Binary;
using System.Text;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Runtime.Tests.Formats;

public class SafetensorsTests
{
    [Fact]
    public void RoundTrip_F32_F16_BF16_I8_AndMetadata()
    {
        using var dir = new TempDir();
        var w = new SafetensorsWriter();
        w.SetMetadata("format", "test");
        w.AddFloat32("a", [2, 3], [1, 2, 3, 4, 5, 6.5f]);
        w.Add("h", TensorDType.F16, [2], BitConverter.GetBytes((Half)1.5f).Concat(BitConverter.GetBytes((Half)(-2f))).ToArray());
        w.Add("b", TensorDType.BF16, [1], BitConverter.GetBytes(TensorDTypes.SingleToBFloat16(3.25f)));
        w.AddInt8("q", [3], [-128, 0, 127]);
        w.Write(dir.File("x.safetensors"));

        using var f = SafetensorsFile.Open(dir.File("x.safetensors"));
        Assert.Equal("test", f.Metadata["format"]);
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6.5f }, f.ReadFloat32("a", 2, 3));
        Assert.Equal(new float[] { 1.5f, -2f }, f.ReadFloat32("h", 2));
        Assert.Equal(new float[] { 3.25f }, f.ReadFloat32("b", 1));
        Assert.Equal(new sbyte[] { -128, 0, 127 }, f.ReadInt8("q", 3));
    }

    /// <summary>
    /// Found by the round-trip property (TensorFileProperties, replay 19190001,19190003): the writer took a second tensor named
    /// "w" and wrote a header that lists it twice, a file its own reader then refused ("safetensors header lists 'w' twice").
    /// </summary>
    [Fact]
    public void Writer_RefusesATensorNameTwice_InsteadOfWritingAnUnreadableFile()
    {
        using var dir = new TempDir();
        var w = new SafetensorsWriter();
        w.Add("w", TensorDType.I32, [3, 2, 1, 2], new byte[48]);
        var e = Assert.Throws<ArgumentException>(() => w.Add("w", TensorDType.U8, [0, 0, 2, 1], []));
        Assert.Equal("tensor 'w' is added twice (Parameter 'name')", e.Message);
        w.Write(dir.File("x.safetensors"));
        using var f = SafetensorsFile.Open(dir.File("x.safetensors"));
        Assert.Equal(TensorDType.I32, Assert.Single(f.Tensors).Value.DType);
    }

    [Fact]
    public void BFloat16_RoundsToNearestEven()
    {
        // 1 + 2^-8 is halfway between two bf16 values: ties to even (1.0).
        Assert.Equal(1.0f, TensorDTypes.BFloat16ToSingle(TensorDTypes.SingleToBFloat16(1f + 1f / 256)));
        Assert.Equal(1.0078125f, TensorDTypes.BFloat16ToSingle(TensorDTypes.SingleToBFloat16(1f + 3f / 512)));
    }

    private static byte[] Raw(string json, int dataBytes, ulong? declaredLength = null) => Raw(Encoding.UTF8.GetBytes(json), dataBytes, declaredLength);

    private static byte[] Raw(byte[] header, int dataBytes, ulong? declaredLength = null)
    {
        var bytes = new byte[8 + header.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength ?? (ulong)header.Length);
        header.CopyTo(bytes, 8);
        return bytes;
    }

    public static TheoryData<string, byte[], string> Malformed => new()
    {
        { "short file", [1, 2, 3], "shorter than the 8-byte header length" },
        { "header length overflows", Raw("{}", 0, ulong.MaxValue - 3), "exceeds the file" },
        { "header length past end", Raw("{}", 0, 4096), "exceeds the file" },
        { "not json", Raw("{\"a\": [1,2", 0), "malformed safetensors" },
        { "not an object", Raw("[1, 2, 3]", 0), "should be StartObject" },
        { "bad dtype", Raw("{\"a\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1), "unsupported dtype 'Q4'" },
        { "size mismatch", Raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4), "needs 8 bytes, data_offsets give 4" },
        { "truncated data", Raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8), "past the 8 data bytes" },
        {
            "overlap",
            Raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}," + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12),
            "overlap"
        },
        { "offsets reversed", Raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", 8), "end before they begin" },
        { "negative dim", Raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,0]}}", 0), "not a non-negative integer" },
        { "shape overflow", Raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,0]}}", 0), "overflows" },
        { "offset overflow", Raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,99999999999999999999]}}", 4), "fit in 64 bits" },
        { "duplicate",
            Raw("{\"a\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[0,1]},\"a\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1),
            "lists 'a' twice" },
        { "missing field", Raw("{\"a\":{\"dtype\":\"I8\",\"shape\":[1]}}", 1), "lacks dtype, shape or data_offsets" },
        { "metadata not string", Raw("{\"__metadata__\":{\"k\":1}}", 0), "metadata values are strings" },
        // The format forbids bytes no tensor indexes, between tensors or after the last (the reference reader refuses both).
        {
            "gap between tensors",
            Raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}," + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12),
            "data bytes [4, 8) before tensor 'b' belong to no tensor"
        },
        { "bytes after the last tensor", Raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 9),
            "data bytes [4, 9) after the last tensor belong to no tensor" },
        { "data without tensors", Raw("{}", 8), "data bytes [0, 8) after the last tensor belong to no tensor" },
        { "header not UTF-8", Raw([.. "{\"a"u8, 0xFF, 0xFE, .. "\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[0,1]}}"u8], 1),
            "safetensors header is not UTF-8 (invalid byte 0xFF at header byte 3)" },
        { "metadata not UTF-8", Raw([.. "{\"__metadata__\":{\"k\":\""u8, 0xC3, .. "\"}}"u8], 0), "is not UTF-8" },
        { "name escapes a lone surrogate", Raw("{\"a\\ud800\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1),
            "safetensors header escapes a lone UTF-16 surrogate ('\\ud800' at header byte 3), which is not text" },
        { "metadata escapes a lone surrogate", Raw("{\"__metadata__\":{\"k\":\"\\udc00\"}}", 0),
            "safetensors header escapes a lone UTF-16 surrogate ('\\udc00' at header byte 22), which is not text" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_FilesGiveClearErrors(string name, byte[] bytes, string expected)
    {
        using var dir = new TempDir();
        string path = dir.File(name.Replace(' ', '_') + ".safetensors");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<EdgeAvsrException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingTensor_WrongShape_WrongDtype_AreNamed()
    {
        using var dir = new TempDir();
        var w = new SafetensorsWriter();
        w.AddFloat32("gate.weight", [2, 3], new float[6]);
        w.AddInt8("q", [2], [1, 2]);
        w.Write(dir.File("m.safetensors"));
        using var f = SafetensorsFile.Open(dir.File("m.safetensors"));
        Assert.Contains("tensor 'nope' is missing", Assert.Throws<EdgeAvsrException>(() => f.Get("nope")).Message, StringComparison.Ordinal);
        Assert.Contains("'gate.weight' has shape [2, 3], expected [3, 2]", Assert.Throws<EdgeAvsrException>(() =>
            f.ReadFloat32("gate.weight", 3, 2)).Message, StringComparison.Ordinal);
        Assert.Contains("'q' has dtype I8, expected F32", Assert.Throws<EdgeAvsrException>(() => f.ReadFloat32("q", 2)).Message, StringComparison.Ordinal);
        Assert.Contains("'gate.weight' has dtype F32, expected I8", Assert.Throws<EdgeAvsrException>(() => f.ReadInt8("gate.weight", 2, 3)).Message,
            StringComparison.Ordinal);
    }
}
