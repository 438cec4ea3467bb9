using System.Buffers.Binary;

namespace EdgeAvsr.Runtime.Decoding;

/// <summary>The file-level checks made before llama.cpp opens a model: it exists, is a GGUF v3 file.</summary>
internal static class GgufPrecheck
{
    public static void Check(string path)
    {
        if (!File.Exists(path))
        {
            throw new EdgeAvsrException($"{path}: model file not found");
        }
        Span<byte> header = stackalloc byte[8];
        using (var f = File.OpenRead(path))
        {
            if (f.Read(header) < header.Length)
            {
                throw new EdgeAvsrException($"{path}: {f.Length} bytes is too short for a GGUF file");
            }
        }
        if (!header[..4].SequenceEqual("GGUF"u8))
        {
            throw new EdgeAvsrException($"{path}: not a GGUF file (magic is not 'GGUF')");
        }
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
        if (version != 3)
        {
            throw new EdgeAvsrException($"{path}: GGUF version {version}, expected 3");
        }
    }
}
