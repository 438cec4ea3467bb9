namespace EdgeAvsr.Runtime.Interop;

/// <summary>
/// What <see cref="SmopCudaLibrary.Probe"/> found: the library's path (null when it is missing or did not load), the CUDA
/// device count, and one line describing device 0 or why there is none.
/// </summary>
public sealed record SmopCudaProbe(string? LibraryPath, int DeviceCount, string Description);
