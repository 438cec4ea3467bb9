using System.CommandLine;
using EdgeAvsr.Device.Report;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Interop;
using EdgeAvsr.Runtime.Projector.Kernels;

namespace EdgeAvsr.Cli.Commands;

/// <summary><c>edgeavsr doctor</c>: which engine files load, their versions, the CPU, the projector kernels and the devices.</summary>
internal static class DoctorCommand
{
    public static Command Create()
    {
        var command = new Command("doctor",
            "Report the native engines loaded, their versions, CPU features, projector kernels and devices; exit 2 if an engine is missing");
        CommandActions.Set(command, _ => Run());
        return command;
    }

    private static int Run()
    {
        Console.WriteLine(NativeEngines.CustomDirectory() is { } custom
            ? $"custom engine folder: {custom} (${NativeEngines.DirectoryVariable})"
            : $"engines: the NuGet packages' libraries beside the application (${NativeEngines.DirectoryVariable} unset)");
        var failures = new List<string>();
        Report("onnxruntime", NativeEngines.InitializeOnnxRuntime, failures);
        Report("llama.cpp", NativeEngines.InitializeLlama, failures);
        Console.WriteLine($"cpu: {KernelRegistry.DescribeCpu()}");
        var int8 = KernelRegistry.SelectInt8();
        var fp32 = KernelRegistry.SelectFp32();
        string forced = Environment.GetEnvironmentVariable(KernelRegistry.ForceVariable) is { Length: > 0 } f
            ? $" (forced by {KernelRegistry.ForceVariable}={f})"
            : "";
        Console.WriteLine($"projector int8 kernel: {int8.Name}{forced}");
        foreach (var k in KernelRegistry.Int8Variants)
        {
            string where = k.IsNative ? "compiled, executes here"
                : k.IsEmulated ? "compiled, not executed here (tested through a managed emulation of its lanes)"
                : "compiled, not executed here (this CPU or build lacks its instructions)";
            Console.WriteLine($"  {k.Name,-12} {where}");
        }
        var cuda = SmopCudaLibrary.Probe();
        Console.WriteLine($"projector cuda: {(cuda.LibraryPath is null ? "" : cuda.LibraryPath + ": ")}{cuda.Description}");
        Console.WriteLine($"projector fp32 kernel: {fp32.Name}{forced}");
        foreach (var k in KernelRegistry.Fp32Variants)
        {
            Console.WriteLine($"  {k.Name,-12} {(k.IsNative ? "compiled, executes here" : "compiled, not executed here")}");
        }
        // What a kiosk or headless box would capture and drive with here (a missing device is no failure: files still work).
        foreach (string line in DeviceReport.Probe().Lines())
        {
            Console.WriteLine($"device {line}");
        }
        if (failures.Count > 0)
        {
            throw new EdgeAvsrException(string.Join("; ", failures));
        }
        return ExitCodes.Success;
    }

    private static void Report(string name, Func<NativeEngineInfo> initialize, List<string> failures)
    {
        try
        {
            var info = initialize();
            Console.WriteLine($"{name}: version {info.Version}");
            foreach (string f in info.Files)
            {
                Console.WriteLine($"  file: {f}");
            }
            foreach (string d in info.Details)
            {
                Console.WriteLine($"  {d}");
            }
        }
        catch (EdgeAvsrException e)
        {
            Console.WriteLine($"{name}: MISSING: {e.Message}");
            failures.Add(e.Message);
        }
    }
}
