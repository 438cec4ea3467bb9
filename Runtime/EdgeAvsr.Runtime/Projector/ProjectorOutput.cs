using System.Buffers;
using System.Runtime.CompilerServices;
using EdgeAvsr.Runtime.Projector.Kernels;

namespace EdgeAvsr.Runtime.Projector;

/// <summary>Projector output. <see cref="ExpertRows"/> counts the token rows each expert actually computed, per mixture.</summary>
public sealed record ProjectorOutput(ModalityTokens? Audio, ModalityTokens? Video, IReadOnlyDictionary<string, long[]> ExpertRows)
{
    public long TotalExpertRows => ExpertRows.Values.Sum(r => r.Sum());
}
