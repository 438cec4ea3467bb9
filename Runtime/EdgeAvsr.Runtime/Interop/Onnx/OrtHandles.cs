using System.Runtime.InteropServices;

namespace EdgeAvsr.Runtime.Interop.Onnx;

/// <summary>Base of every ORT object handle: released through its <c>Release*</c> slot of the function table.</summary>
internal abstract class OrtHandle : SafeHandle
{
    private readonly int _releaseSlot;

    protected OrtHandle(nint handle, int releaseSlot) : base(0, ownsHandle: true)
    {
        _releaseSlot = releaseSlot;
        SetHandle(handle);
    }

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        OrtApi.Release(_releaseSlot, handle);
        return true;
    }
}

internal sealed class OrtEnvHandle(nint handle) : OrtHandle(handle, OrtSlot.ReleaseEnv);

internal sealed class OrtSessionOptionsHandle(nint handle) : OrtHandle(handle, OrtSlot.ReleaseSessionOptions);

internal sealed class OrtSessionHandle(nint handle) : OrtHandle(handle, OrtSlot.ReleaseSession);

internal sealed class OrtValueHandle(nint handle) : OrtHandle(handle, OrtSlot.ReleaseValue);

internal sealed class OrtMemoryInfoHandle(nint handle) : OrtHandle(handle, OrtSlot.ReleaseMemoryInfo);

internal sealed class OrtTypeInfoHandle(nint handle) : OrtHandle(handle, OrtSlot.ReleaseTypeInfo);
