namespace EdgeAvsr.Device.Sources;

/// <summary>Which device a status is about.</summary>
public enum DeviceKind
{
    Camera,
    Microphone,
}

/// <summary>Where a device stands.</summary>
public enum DeviceState
{
    /// <summary>Its process was started the first time and nothing came yet (it counts as live until it stalls).</summary>
    Starting,

    /// <summary>Delivering.</summary>
    Live,

    /// <summary>Delivered nothing for longer than the stall timeout, or its process ended: killed, waiting to be restarted.</summary>
    Stalled,

    /// <summary>Restarted after a stall and nothing came yet.</summary>
    Retrying,
}

/// <summary>
/// A snapshot of one device for <c>/health</c> and <c>doctor</c>.
/// </summary>
/// <param name="Kind">Camera or microphone.</param>
/// <param name="Input">What it reads (device, URL, file or command).</param>
/// <param name="State">Live, stalled or retrying.</param>
/// <param name="Delivered">Frames (camera) or 16 kHz samples (microphone) received since the source started.</param>
/// <param name="Dropped">Frames dropped because the camera ran ahead of the audio clock (0 for a microphone).</param>
/// <param name="Repeated">Frames repeated because the camera fell behind (0 for a microphone).</param>
/// <param name="DriftPpm">The camera's rate against the audio clock, or the microphone's against the host clock, in parts per
/// million off nominal; null until measured.</param>
/// <param name="Restarts">Times its process was restarted.</param>
/// <param name="LastError">Why it last stalled or failed (its own last words when it said any); null if it never did.</param>
/// <param name="SinceLastData">Host time since it last delivered; null if it never did.</param>
public sealed record DeviceStatus(
    DeviceKind Kind,
    string Input,
    DeviceState State,
    long Delivered,
    long Dropped,
    long Repeated,
    double? DriftPpm,
    int Restarts,
    string? LastError,
    TimeSpan? SinceLastData);
