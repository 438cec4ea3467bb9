using EdgeAvsr.Runtime.Decoding;
using EdgeAvsr.Runtime.Onnx;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Runtime.Pack;

/// <summary>A file of the pack with its size and SHA-256 (lowercase hex).</summary>
public sealed record PackFile(string Path, long Bytes, string Sha256);
