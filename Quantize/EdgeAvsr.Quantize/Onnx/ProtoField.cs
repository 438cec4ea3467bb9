using Google.Protobuf;

namespace EdgeAvsr.Quantize.Onnx;

/// <summary>
/// One field of a protobuf message as it lies in the file: <see cref="Encoded"/> is the tag and value, byte for byte
/// (what a field this reader does not know is written back as); <see cref="Payload"/> the value without its tag
/// (and, for a length-delimited field, without its length); <see cref="Message"/> names the message it came from, for errors.
/// </summary>
internal readonly record struct ProtoField(int Number, WireFormat.WireType Wire, ArraySegment<byte> Encoded, ArraySegment<byte> Payload, ulong Varint,
    string Message);
