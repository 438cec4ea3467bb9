using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace EdgeAvsr.Runtime.Tests;

/// <summary>
/// The engines are reached only through their packages: none of our assemblies may declare a P/Invoke into them or
/// reference their library as a module. Read from the built assemblies' metadata (ImplMap and ModuleRef tables), so
/// DllImport, LibraryImport (whose generated stub is a DllImport) and any other declaration are all seen.
/// </summary>
public class NativeImportScanTests
{
    /// <summary>Native libraries only their packages may bind to, by base name (no "lib" prefix, no extension).</summary>
    private static readonly string[] PackageOnlyLibraries =
    [
        "onnxruntime",
        "llama",
        "ggml",
        "ggml-base",
        "ggml-cpu",
        "mtmd",
    ];

    private static readonly string[] OurAssemblies =
        ["EdgeAvsr.Runtime.dll", "edgeavsr.dll", "EdgeAvsr.Quantize.dll", "edgeavsr-quantize.dll", "EdgeAvsr.Synthetic.dll", "edgeavsr-bench.dll"];

    /// <summary>"libonnxruntime.so.1", "onnxruntime.dll", "/opt/ort/libonnxruntime.so" -> "onnxruntime".</summary>
    internal static string BaseName(string module)
    {
        string name = Path.GetFileName(module).ToLowerInvariant();
        if (name.StartsWith("lib", StringComparison.Ordinal))
        {
            name = name[3..];
        }
        int dot = name.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? name : name[..dot];
    }

    /// <summary>Every module reference of the assembly, and every P/Invoke as "Type.Method -> module".</summary>
    internal static (IReadOnlyList<string> Modules, IReadOnlyList<(string Method, string Module)> Imports) Scan(string assemblyPath)
    {
        using var pe = new PEReader(File.OpenRead(assemblyPath));
        var md = pe.GetMetadataReader();
        var modules = new List<string>();
        for (int row = 1; row <= md.GetTableRowCount(TableIndex.ModuleRef); row++)
        {
            modules.Add(md.GetString(md.GetModuleReference(MetadataTokens.ModuleReferenceHandle(row)).Name));
        }
        var imports = new List<(string, string)>();
        foreach (var handle in md.MethodDefinitions)
        {
            var method = md.GetMethodDefinition(handle);
            var import = method.GetImport();
            if (import.Module.IsNil)
            {
                continue;
            }
            var type = md.GetTypeDefinition(method.GetDeclaringType());
            imports.Add(($"{md.GetString(type.Name)}.{md.GetString(method.Name)}", md.GetString(md.GetModuleReference(import.Module).Name)));
        }
        return (modules, imports);
    }

    [Theory]
    [InlineData("libonnxruntime.so.1", "onnxruntime")]
    [InlineData("onnxruntime", "onnxruntime")]
    [InlineData("/opt/ort/lib/libonnxruntime.so", "onnxruntime")]
    [InlineData("onnxruntime.dll", "onnxruntime")]
    [InlineData("libc", "c")]
    public void BaseName_StripsFolderPrefixAndExtension(string module, string expected) => Assert.Equal(expected, BaseName(module));

    [Fact]
    public void Scanner_SeesThePackagesOwnImports()
    {
        // A positive control: the ORT package's assembly does declare P/Invokes into "onnxruntime".
        var (modules, imports) = Scan(typeof(Microsoft.ML.OnnxRuntime.OrtEnv).Assembly.Location);
        Assert.Contains("onnxruntime", modules);
        Assert.Contains(imports, i => i.Method == "NativeMethods.OrtGetApiBase" && i.Module == "onnxruntime");
    }

    [Fact]
    public void OurAssemblies_DeclareNoPInvokeIntoAnEngine()
    {
        var found = new List<string>();
        foreach (string name in OurAssemblies)
        {
            string path = Path.Combine(AppContext.BaseDirectory, name);
            Assert.True(File.Exists(path), $"{path} not built");
            var (modules, imports) = Scan(path);
            found.AddRange(modules.Where(m => PackageOnlyLibraries.Contains(BaseName(m))).Select(m => $"{name}: module reference {m}"));
            found.AddRange(imports.Where(i => PackageOnlyLibraries.Contains(BaseName(i.Module))).Select(i => $"{name}: {i.Method} -> {i.Module}"));
        }
        Assert.Empty(found);
    }
}
