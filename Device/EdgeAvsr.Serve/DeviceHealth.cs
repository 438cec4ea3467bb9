namespace EdgeAvsr.Serve;

/// <summary>One input device (camera, microphone, a replayed file) and whether it delivers.</summary>
public sealed record DeviceHealth(string Name, string Kind, bool Live, string? Detail);
