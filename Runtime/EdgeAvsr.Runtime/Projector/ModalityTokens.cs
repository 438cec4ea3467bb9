using System.Buffers;
using System.Runtime.CompilerServices;
using EdgeAvsr.Runtime.Projector.Kernels;

namespace EdgeAvsr.Runtime.Projector;

/// <summary>The projected tokens of one modality.</summary>
/// <param name="Modality">Which stream the tokens came from.</param>
/// <param name="Tokens">[T', d_llm] LLM-space embeddings.</param>
/// <param name="Experts">[T', k] expert of each token's top-k slots, by descending router probability.</param>
/// <param name="Weights">[T', k] the renormalised router weights of those slots.</param>
/// <param name="TopK">k, the slots per token.</param>
public sealed record ModalityTokens(Modality Modality, FloatMatrix Tokens, int[] Experts, float[] Weights, int TopK);
