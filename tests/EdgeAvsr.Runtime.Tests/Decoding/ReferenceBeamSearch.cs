namespace EdgeAvsr.Runtime.Tests.Decoding;

/// <summary>
/// Beam search as transformers 4.43 <c>generate(num_beams=B, length_penalty=1.0, early_stopping=False)</c> does
/// it for one input, written out plainly from the Python (no shared code with the runtime): full log-softmax,
/// a flat sort of all B x V candidates, BeamSearchScorer.process / BeamHypotheses.add / is_done / finalize.
/// <paramref name="nextLogits"/> gives the logits after the prompt plus a generated prefix.
/// </summary>
internal static class ReferenceBeamSearch
{
    public static (int[] Tokens, double Score) Run(Func<int[], float[]> nextLogits, int vocab, ISet<int> eos, int numBeams, int maxNewTokens)
    {
        var inputIds = Enumerable.Range(0, numBeams).Select(_ => new List<int>()).ToList();
        var beamScores = Enumerable.Range(0, numBeams).Select(b => b == 0 ? 0.0 : -1e9).ToArray();
        var hyps = new List<(double Score, List<int> Tokens)>();
        double worst = 1e9;
        bool done = false;

        void Add(List<int> tokens, double sumLogprobs, int generatedLen)
        {
            double score = sumLogprobs / Math.Pow(generatedLen, 1.0);
            if (hyps.Count < numBeams || score > worst)
            {
                hyps.Add((score, tokens));
                if (hyps.Count > numBeams)
                {
                    var sorted = hyps.Select((h, idx) => (h.Score, idx)).OrderBy(p => p.Score).ThenBy(p => p.idx).ToList();
                    hyps.RemoveAt(sorted[0].idx);
                    worst = sorted[1].Score;
                }
                else
                {
                    worst = Math.Min(score, worst);
                }
            }
        }

        int nTokensToKeep = Math.Max(2, 1 + eos.Count) * numBeams;
        int curLenIds = 0; // input_ids.shape[-1] (prompt given as embeddings: 0 columns)
        while (true)
        {
            var all = new List<(double Score, long Flat)>();
            for (int b = 0; b < numBeams; b++)
            {
                float[] logits = nextLogits([.. inputIds[b]]);
                double max = logits.Max();
                double lse = max + Math.Log(logits.Sum(x => Math.Exp(x - max)));
                for (int t = 0; t < vocab; t++)
                {
                    all.Add((beamScores[b] + (logits[t] - lse), (long)b * vocab + t));
                }
            }
            var top = all.OrderByDescending(c => c.Score).ThenBy(c => c.Flat).Take(nTokensToKeep).ToList();

            // BeamSearchScorer.process
            int curLen = curLenIds + 1;
            var nextScores = new double[numBeams];
            var nextTokens = new int[numBeams];
            var nextIndices = new int[numBeams];
            int beamIdx = 0;
            for (int rank = 0; rank < top.Count; rank++)
            {
                int token = (int)(top[rank].Flat % vocab);
                int index = (int)(top[rank].Flat / vocab);
                if (eos.Contains(token))
                {
                    if (rank >= numBeams)
                    {
                        continue;
                    }
                    Add([.. inputIds[index]], top[rank].Score, curLen);
                }
                else
                {
                    nextScores[beamIdx] = top[rank].Score;
                    nextTokens[beamIdx] = token;
                    nextIndices[beamIdx] = index;
                    beamIdx++;
                }
                if (beamIdx == numBeams)
                {
                    break;
                }
            }
            if (!done && hyps.Count >= numBeams)
            {
                double best = top.Max(c => c.Score);
                done = worst >= best / curLen;
            }

            inputIds = Enumerable.Range(0, numBeams).Select(b => new List<int>(inputIds[nextIndices[b]]) { nextTokens[b] }).ToList();
            beamScores = nextScores;
            curLenIds++;
            if (done || curLenIds >= maxNewTokens)
            {
                break;
            }
        }
        // finalize
        if (!done)
        {
            for (int b = 0; b < numBeams; b++)
            {
                Add(inputIds[b], beamScores[b], inputIds[b].Count);
            }
        }
        var sortedHyps = hyps.Select((h, i) => (h, i)).OrderBy(p => p.h.Score).ThenBy(p => p.i).ToList();
        var winner = sortedHyps[^1].h;
        return ([.. winner.Tokens], winner.Score);
    }
}
