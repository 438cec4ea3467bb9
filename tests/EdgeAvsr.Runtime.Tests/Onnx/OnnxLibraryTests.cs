using System.Diagnostics;
using EdgeAvsr.Runtime.Formats;
using EdgeAvsr.Runtime.Interop;

namespace EdgeAvsr.Runtime.Tests.Onnx;

/// <summary>
/// Which libonnxruntime a process loads, and what a missing or too-old one looks like. The package checks the library
/// once per process (a failed check cannot be retried), so each case runs <c>edgeavsr</c> in a child process with
/// <c>$EDGEAVSR_NATIVE_DIR</c> set.
/// </summary>
public class OnnxLibraryTests
{
    private static (int Code, string Out, string Err) Edgeavsr(string nativeDir, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "edgeavsr.dll"));
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment[NativeEngines.DirectoryVariable] = nativeDir;
        using var p = Tools.Start(psi);
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout, stderr.Result);
    }

    private static string OnnxLine(string stdout) => Assert.Single(stdout.Split('\n'), l => l.StartsWith("onnxruntime: ", StringComparison.Ordinal));

    [Fact]
    public void NativeDir_WithoutOnnxRuntime_IsMissing_NamingTheFolder()
    {
        using var dir = new TempDir();
        var (code, stdout, stderr) = Edgeavsr(dir.Path, "doctor");
        Assert.Equal(2, code);
        Assert.Equal($"onnxruntime: MISSING: onnxruntime: libonnxruntime.so not found in {dir.Path} ($EDGEAVSR_NATIVE_DIR); put libonnxruntime 1.31 or newer "
            + "there, or unset EDGEAVSR_NATIVE_DIR to use the package's copy beside the application", OnnxLine(stdout));
        Assert.StartsWith("edgeavsr: ", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.TrimEnd().Split('\n'));
    }

    [Fact]
    public void NativeDir_WithAnOnnxRuntimeOlderThan131_IsRefused_NamingTheFileAndWhatIsRequired()
    {
        // A stand-in for ORT 1.30: OrtGetApiBase's GetApi returns NULL for any version above 30, as a real 1.30 does.
        using var dir = new TempDir();
        File.WriteAllText(dir.File("ort130.c"), """
            typedef struct { const void* (*GetApi)(unsigned version); const char* (*GetVersionString)(void); } OrtApiBase;
            static const char table[8];
            static const void* get_api(unsigned version) { return version <= 30 ? table : 0; }
            static const char* get_version(void) { return "1.30.0"; }
            static const OrtApiBase base = { get_api, get_version };
            const OrtApiBase* OrtGetApiBase(void) { return &base; }
            """);
        string lib = dir.File("libonnxruntime.so");
        Tools.Run("cc", "-shared", "-fPIC", "-o", lib, dir.File("ort130.c"));

        var (code, stdout, stderr) = Edgeavsr(dir.Path, "doctor");
        Assert.Equal(2, code);
        string line = OnnxLine(stdout);
        Assert.StartsWith($"onnxruntime: MISSING: onnxruntime: {lib} is too old: Microsoft.ML.OnnxRuntime 1.32.0 needs C API version 31, "
            + "i.e. libonnxruntime 1.31 or newer (", line, StringComparison.Ordinal);
        Assert.Contains("does not support API version 31", line, StringComparison.Ordinal);
        Assert.Single(stderr.TrimEnd().Split('\n'));

        // A verb that needs ORT fails with the same line and exit code 2.
        var encode = Edgeavsr(dir.Path, "encode", "--model", dir.File("m.onnx"), "--input", dir.File("x.npy"), "--out", dir.File("o.npy"));
        Assert.Equal(2, encode.Code);
    }

    [Fact]
    public void NativeDir_WithARealOnnxRuntime_IsTheOneLoaded_AndRuns()
    {
        // The package's own library, copied elsewhere: doctor must name the copy, and a model must run on it.
        using var dir = new TempDir();
        string packaged = OnnxRuntimeEnvironmentFile();
        File.Copy(packaged, dir.File("libonnxruntime.so"));
        var (code, stdout, stderr) = Edgeavsr(dir.Path, "doctor");
        Assert.True(code == 0, stderr); // the folder holds no libllama.so, so llama.cpp comes from its package
        Assert.Equal("onnxruntime: version 1.32.0", OnnxLine(stdout));
        Assert.Contains($"  file: {dir.File("libonnxruntime.so")}\n", stdout, StringComparison.Ordinal);
        Assert.Contains("  loaded from $EDGEAVSR_NATIVE_DIR\n", stdout, StringComparison.Ordinal);

        // A linear "video encoder" ([1, 1, T, 88, 88] -> [1, T, 4]) run through the copy, against numpy.
        Python.Run($$"""
            import onnx, numpy as np
            from onnx import helper, TensorProto, numpy_helper
            rng = np.random.default_rng(7)
            w = (rng.standard_normal((88 * 88, 4)) / 88).astype(np.float32)
            g = helper.make_graph(
                [helper.make_node("Reshape", ["video", "shape"], ["flat"]), helper.make_node("MatMul", ["flat", "w"], ["last_hidden_state"])],
                "linear", [helper.make_tensor_value_info("video", TensorProto.FLOAT, [1, 1, "T", 88, 88])],
                [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, [1, "T", 4])],
                [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.array([1, -1, 88 * 88], dtype=np.int64), "shape")])
            m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
            m.ir_version = 8
            onnx.save(m, r"{{dir.File("enc.onnx")}}")
            x = rng.random((3, 88, 88), dtype=np.float32)
            np.save(r"{{dir.File("roi.npy")}}", x)
            np.save(r"{{dir.File("expected.npy")}}", (x.reshape(1, 3, -1).astype(np.float64) @ w.astype(np.float64)).astype(np.float32))
            """);
        var encode = Edgeavsr(dir.Path, "encode", "--model", dir.File("enc.onnx"), "--input", dir.File("roi.npy"), "--out", dir.File("states.npy"));
        Assert.True(encode.Code == 0, encode.Err);
        var states = NpyFile.ReadFloat32(dir.File("states.npy"));
        var expected = NpyFile.ReadFloat32(dir.File("expected.npy"));
        Assert.Equal(new long[] { 1, 3, 4 }, states.Shape);
        for (int i = 0; i < expected.Data.Length; i++)
        {
            Assert.Equal(expected.Data[i], states.Data[i], 1e-4f);
        }
    }

    /// <summary>The libonnxruntime this test process loaded (through the package's default search).</summary>
    private static string OnnxRuntimeEnvironmentFile() => Assert.Single(Runtime.Onnx.OnnxRuntimeEnvironment.Initialize().Files);
}
