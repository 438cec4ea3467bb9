namespace EdgeAvsr.Runtime.Interop.Onnx;

/// <summary>
/// The process-wide ORT environment and the CPU memory info every input tensor is described with, made on first use
/// and together: if either cannot be made, neither is kept (the environment is released), so the next caller tries
/// both again instead of finding an environment without its memory info.
/// </summary>
internal sealed class OrtEnvironment
{
    private const int LogWarning = 2;

    private readonly Lock _gate = new();
    private readonly Func<nint> _createEnv;
    private readonly Func<nint> _createCpuMemoryInfo;
    private Made? _made;

    internal OrtEnvironment(Func<nint> createEnv, Func<nint> createCpuMemoryInfo)
    {
        _createEnv = createEnv;
        _createCpuMemoryInfo = createCpuMemoryInfo;
    }

    /// <summary>The one every session uses; ORT logs warnings and errors as "edgeavsr".</summary>
    public static OrtEnvironment Shared { get; } = new(() => OrtApi.CreateEnv(LogWarning, "edgeavsr"), OrtApi.CreateCpuMemoryInfo);

    public OrtEnvHandle Env => Get().Env;

    public OrtMemoryInfoHandle CpuMemory => Get().CpuMemory;

    private Made Get()
    {
        // Every Run asks for the memory info: once made, it is read without the lock.
        if (Volatile.Read(ref _made) is { } made)
        {
            return made;
        }
        lock (_gate)
        {
            if (_made is null)
            {
                var env = new OrtEnvHandle(_createEnv());
                try
                {
                    Volatile.Write(ref _made, new Made(env, new OrtMemoryInfoHandle(_createCpuMemoryInfo())));
                }
                catch
                {
                    env.Dispose();
                    throw;
                }
            }
            return _made;
        }
    }

    private sealed record Made(OrtEnvHandle Env, OrtMemoryInfoHandle CpuMemory);
}
