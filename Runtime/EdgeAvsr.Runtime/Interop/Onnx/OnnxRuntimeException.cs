namespace EdgeAvsr.Runtime.Interop.Onnx;

/// <summary><c>OrtErrorCode</c> (onnxruntime_c_api.h).</summary>
public enum OrtErrorCode
{
    Ok = 0,
    Fail = 1,
    InvalidArgument = 2,
    NoSuchFile = 3,
    NoModel = 4,
    EngineError = 5,
    RuntimeException = 6,
    InvalidProtobuf = 7,
    ModelLoaded = 8,
    NotImplemented = 9,
    InvalidGraph = 10,
    EpFail = 11,
    ModelLoadCanceled = 12,
    ModelRequiresCompilation = 13,
    NotFound = 14,
    DeviceReset = 15,
}

/// <summary>
/// A failed ONNX Runtime call: the <see cref="OrtErrorCode"/> and ORT's own message, plus the C API function that
/// returned the status. Made only by the one status helper (<c>OrtApi.Check</c>). Callers that know the cause is the
/// user's input (a model file that is not ONNX, an input of the wrong shape) wrap it in an <see cref="EdgeAvsrException"/>.
/// </summary>
public sealed class OnnxRuntimeException : Exception
{
    public OnnxRuntimeException(OrtErrorCode code, string function, string ortMessage)
        : base($"onnxruntime {function} failed ({code}): {ortMessage}")
    {
        Code = code;
        Function = function;
        OrtMessage = ortMessage;
    }

    public OnnxRuntimeException() { }

    public OnnxRuntimeException(string message) : base(message) { }

    public OnnxRuntimeException(string message, Exception inner) : base(message, inner) { }

    public OrtErrorCode Code { get; }

    /// <summary>The C API function that failed, e.g. <c>CreateSession</c>.</summary>
    public string Function { get; } = "";

    /// <summary>ORT's message, verbatim.</summary>
    public string OrtMessage { get; } = "";
}
