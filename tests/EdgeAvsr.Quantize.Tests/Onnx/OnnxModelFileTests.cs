using EdgeAvsr.Quantize.Onnx;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Onnx;

namespace EdgeAvsr.Quantize.Tests.Onnx;

/// <summary>The project's ONNX protobuf reader/writer: exact round trips, unknown fields kept, bad bytes refused in one line.</summary>
public sealed class OnnxModelFileTests(TinyQuantizedEncoders encoders) : IClassFixture<TinyQuantizedEncoders>
{
    [Fact]
    public void Exported_encoders_round_trip_byte_for_byte_and_run_bit_identically()
    {
        foreach (string path in new[] { encoders.Audio, encoders.Video })
        {
            byte[] original = File.ReadAllBytes(path);
            var model = OnnxModelFile.Read(path);
            Assert.True(model.Graph.Nodes.Count > 20);
            Assert.Equal(17, model.OnnxOpset);
            byte[] written = model.ToBytes();
            Assert.Equal(original, written);
            string copy = path + ".copy.onnx";
            model.Write(copy);
            var rng = new Random(3);
            bool audio = path == encoders.Audio;
            long[] shape = audio ? [1, 80, 3000] : [1, 1, 4, 88, 88];
            float[] x = [.. Enumerable.Range(0, (int)shape.Aggregate(1L, (a, b) => a * b)).Select(_ => (float)rng.NextDouble())];
            var input = new Dictionary<string, OnnxTensor> { [audio ? "input_features" : "video"] = OnnxTensor.Float(x, shape) };
            var options = new OnnxSessionOptions { Providers = [ExecutionProvider.Cpu], IntraOpThreads = 1 };
            using var a = OnnxSession.Create(path, options);
            using var b = OnnxSession.Create(copy, options);
            Assert.Equal(a.Run(input)[0].Floats, b.Run(input)[0].Floats);
        }
    }

    [Fact]
    public void Unknown_fields_survive_a_rewrite_byte_for_byte()
    {
        byte[] original = File.ReadAllBytes(encoders.Audio);
        // Field 1000 of ModelProto (length-delimited, "future"), a field no ONNX version defines, appended to the model.
        byte[] unknown = [0xC2, 0x3E, 6, (byte)'f', (byte)'u', (byte)'t', (byte)'u', (byte)'r', (byte)'e'];
        byte[] withUnknown = [.. original, .. unknown];
        var model = OnnxModelFile.Parse(withUnknown, "with-unknown");
        Assert.Equal(withUnknown, model.ToBytes());
        // After an edit of the graph the unknown field is still there, unchanged, and ORT still loads the model.
        model.Graph.Outputs.Add(OnnxValueInfo.Tensor(model.Graph.Nodes[3].Outputs[0], OnnxElementType.Float));
        byte[] edited = model.ToBytes();
        Assert.True(edited.AsSpan().IndexOf(unknown) >= 0);
        using var session = OnnxSession.Create(edited, new OnnxSessionOptions { Providers = [ExecutionProvider.Cpu], IntraOpThreads = 1 });
        Assert.Equal(2, session.Outputs.Count);
    }

    [Fact]
    public void Float_data_initializers_are_read_like_raw_data()
    {
        string path = encoders.File("float_data.onnx");
        Python.Run($$"""
            import onnx
            from onnx import helper, TensorProto
            w = helper.make_tensor("w", TensorProto.FLOAT, [2, 3], [1.5, -2, 3, 0.25, 5, -6])
            g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "f",
                [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], [w])
            m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
            onnx.save(m, r"{{path}}")
            """);
        var model = OnnxModelFile.Read(path);
        Assert.Equal([1.5f, -2, 3, 0.25f, 5, -6], model.Graph.Initializer("w")!.ReadFloats());
        Assert.Equal(File.ReadAllBytes(path), model.ToBytes());
    }

    [Fact]
    public void Truncated_file_is_one_error_naming_it()
    {
        byte[] original = File.ReadAllBytes(encoders.Audio);
        var e = Assert.Throws<EdgeAvsrException>(() => OnnxModelFile.Parse(original[..(original.Length / 2)], "half.onnx"));
        Assert.StartsWith("half.onnx", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    // A Relu node whose attribute "alpha" carries its float (field 2) as a varint: found by the onnx fuzz target, where
    // reading 1 byte as a float threw ArgumentOutOfRangeException.
    [InlineData(new byte[] { 0x10, 0x01 }, "field 2 is protobuf wire type Varint, expected a float")]
    // ...and its ints (field 8) packed, but cut off inside a varint: InvalidProtocolBufferException escaped before.
    [InlineData(new byte[] { 0x42, 0x01, 0x80 }, "field 8: packed integers cut short")]
    public void Field_of_the_wrong_shape_is_one_error_naming_the_file(byte[] attributeTail, string expected)
    {
        byte[] attribute = [0x0A, 0x05, .. "alpha"u8, .. attributeTail];
        byte[] node = [0x22, 0x04, .. "Relu"u8, 0x2A, (byte)attribute.Length, .. attribute];
        byte[] graph = [0x0A, (byte)node.Length, .. node, 0x12, 0x01, (byte)'g'];
        byte[] model = [0x08, 0x08, 0x42, 0x02, 0x10, 0x11, 0x3A, (byte)graph.Length, .. graph];
        var e = Assert.Throws<EdgeAvsrException>(() => OnnxModelFile.Parse(model, "bad.onnx"));
        Assert.StartsWith("bad.onnx", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }
}
