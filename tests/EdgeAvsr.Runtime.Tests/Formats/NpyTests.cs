using System.Text;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Runtime.Tests.Formats;

public class NpyTests
{
    [Fact]
    public void RoundTrip_Float32_Int32()
    {
        using var dir = new TempDir();
        NpyFile.Write(dir.File("f.npy"), new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        NpyFile.Write(dir.File("i.npy"), new int[] { 7, 8, 9 }, 3);
        var f = NpyFile.ReadFloat32(dir.File("f.npy"));
        Assert.Equal(new long[] { 2, 3 }, f.Shape);
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6 }, f.Data);
        var i = NpyFile.ReadInt32(dir.File("i.npy"));
        Assert.Equal(new long[] { 3 }, i.Shape);
        Assert.Equal(new[] { 7, 8, 9 }, i.Data);
    }

    [Fact]
    public void NumpyReadsWhatWeWrite_AndWeReadNumpy()
    {
        using var dir = new TempDir();
        NpyFile.Write(dir.File("ours.npy"), new float[] { 1.5f, -2, 3, 4 }, 1, 2, 2);
        string script = $"import numpy as np; a=np.load('{dir.File("ours.npy")}'); assert a.shape==(1,2,2) and a.dtype==np.float32 and a[0,1,0]==3; " +
            $"np.save('{dir.File("theirs.npy")}', np.arange(12, dtype=np.float32).reshape(3,4))";
        Python.Run(script);
        var t = NpyFile.ReadFloat32(dir.File("theirs.npy"));
        Assert.Equal(new long[] { 3, 4 }, t.Shape);
        Assert.Equal(11f, t.Data[11]);
    }

    private static byte[] Npy(string dict, int dataBytes, int version = 1)
    {
        var header = Encoding.ASCII.GetBytes(dict + "\n");
        var prefix = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)version, 0 };
        prefix.AddRange(version == 1 ? BitConverter.GetBytes((ushort)header.Length) : BitConverter.GetBytes((uint)header.Length));
        return [.. prefix, .. header, .. new byte[dataBytes]];
    }

    public static TheoryData<string, byte[], string> Malformed => new()
    {
        { "not npy", Encoding.ASCII.GetBytes("hello world, not numpy"), "magic" },
        { "wrong dtype", Npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 16), "dtype '<f8', expected float32" },
        { "fortran", Npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16), "Fortran order" },
        { "truncated", Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 4), }", 20), "needs 64 data bytes, the file holds 20" },
        { "header overflow", Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 4, 2)[..12].Concat(new byte[] { 1, 2 }).ToArray(),
            "exceeds the file" },
        { "bad shape", Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (a, 2), }", 0), "not a non-negative integer" },
        { "shape overflow", Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }", 0), "overflows" },
        { "version 9", Npy("{}", 0, 9), "version 9" },
        { "dict never closed", Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), ", 8), "header dict is not closed" },
        { "no dict", Npy("'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8), "header is not a dict literal" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_FilesGiveClearErrors(string name, byte[] bytes, string expected)
    {
        using var dir = new TempDir();
        string path = dir.File(name.Replace(' ', '_') + ".npy");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<EdgeAvsrException>(() => NpyFile.ReadFloat32(path));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
    }
}
