using System.Text.Json.Serialization;

namespace EdgeAvsr.Serve;

/// <summary>Every JSON shape the daemon reads or writes, source-generated (NativeAOT: no reflection).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(ServeOptions))]
[JsonSerializable(typeof(CaptionRecord))]
[JsonSerializable(typeof(ReplayLine))]
[JsonSerializable(typeof(JournalBase))]
[JsonSerializable(typeof(HistoryResponse))]
[JsonSerializable(typeof(HealthResponse))]
[JsonSerializable(typeof(StatusEvent))]
[JsonSerializable(typeof(string))]
internal sealed partial class ServeJsonContext : JsonSerializerContext;
