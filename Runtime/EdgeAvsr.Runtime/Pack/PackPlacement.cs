namespace EdgeAvsr.Runtime.Pack;

/// <summary>Where one component of a pack runs, as found by opening it.</summary>
/// <param name="Part">audio encoder, video encoder, projector or decoder.</param>
/// <param name="File">The component's file, relative to the pack folder.</param>
/// <param name="Bytes">Its size.</param>
/// <param name="Where">The engine and provider or kernel it runs on.</param>
public sealed record PackPlacement(string Part, string File, long Bytes, string Where);
