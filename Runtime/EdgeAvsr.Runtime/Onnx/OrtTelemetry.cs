using System.Runtime.InteropServices;

namespace EdgeAvsr.Runtime.Onnx;

/// <summary>
/// Keeps ONNX Runtime's own telemetry off in every process that loads it. The Linux build of ORT starts its telemetry
/// (an offline event store in TMPDIR, a debug log, an uploader) when the environment is created, so the API call that
/// disables telemetry events comes too late; the native library instead reads <c>ORT_DISABLE_TELEMETRY</c> (1.32,
/// the one this build ships) or <c>ORT_TELEMETRY_DISABLED</c> (newer sources) with <c>getenv</c> at that point.
/// .NET's <see cref="Environment.SetEnvironmentVariable(string, string)"/> does not reach native <c>getenv</c> on
/// Linux, so both are set through libc before ORT's first call.
/// </summary>
internal static partial class OrtTelemetry
{
    /// <summary>The variables ORT's native library checks, in the versions that have been read (both set to 1).</summary>
    public static readonly IReadOnlyList<string> OptOutVariables = ["ORT_DISABLE_TELEMETRY", "ORT_TELEMETRY_DISABLED"];

    /// <summary>Sets every opt-out variable to 1 in this process, managed and native, unless it already says 1.</summary>
    public static void DisableForThisProcess()
    {
        foreach (string name in OptOutVariables)
        {
            Environment.SetEnvironmentVariable(name, "1");
            if ((OperatingSystem.IsLinux() || OperatingSystem.IsMacOS()) && SetEnv(name, "1", 1) != 0)
            {
                throw new EdgeAvsrException($"onnxruntime: could not set {name}=1 to keep ONNX Runtime's telemetry off (setenv failed: " +
                    $"{Marshal.GetLastPInvokeErrorMessage()})");
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int SetEnv(string name, string value, int overwrite);
}
