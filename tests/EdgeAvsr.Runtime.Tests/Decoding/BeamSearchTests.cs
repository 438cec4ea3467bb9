using EdgeAvsr.Runtime.Decoding;

namespace EdgeAvsr.Runtime.Tests.Decoding;

/// <summary>The runtime's beam search against the plain reference, on synthetic logits where EOS is likely.</summary>
public class BeamSearchTests
{
    /// <summary>Deterministic logits per prefix (seeded by the prefix), EOS ids boosted more as prefixes grow.</summary>
    private static Func<int[], float[]> Synthetic(int vocab, int seed, int[] eos, double eosBoost)
    {
        return prefix =>
        {
            int h = seed;
            foreach (int t in prefix)
            {
                h = unchecked(h * 31 + t + 7);
            }
            var rng = new Random(h);
            var logits = new float[vocab];
            for (int i = 0; i < vocab; i++)
            {
                logits[i] = (float)(rng.NextDouble() * 4 - 2);
            }
            foreach (int e in eos)
            {
                logits[e] += (float)(eosBoost * prefix.Length);
            }
            return logits;
        };
    }

    private static (int[] Tokens, double Score) RunRuntime(Func<int[], float[]> f, int vocab, HashSet<int> eos, int beams, int maxNew)
    {
        var state = new BeamSearchState(beams, vocab, eos, maxNew);
        var logits = Enumerable.Repeat(f([]), beams).ToArray();
        while (state.Step(logits, out _, out _))
        {
            logits = state.Tokens.Select(f).ToArray();
        }
        var (score, tokens) = state.Finish();
        return (tokens, score);
    }

    [Theory]
    [InlineData(2, 1, 0.0)]
    [InlineData(2, 6, 0.5)]
    [InlineData(3, 9, 0.8)]
    [InlineData(5, 12, 0.6)]
    [InlineData(4, 20, 0.3)]
    [InlineData(15, 8, 0.7)]
    public void BeamSearch_EqualsReference_OnManySeeds(int beams, int maxNew, double eosBoost)
    {
        const int vocab = 40;
        int finishedEarly = 0;
        for (int seed = 0; seed < 25; seed++)
        {
            int[] eosIds = seed % 3 == 0 ? [3, 17] : [3];
            var eos = new HashSet<int>(eosIds);
            var f = Synthetic(vocab, seed, eosIds, eosBoost);
            var expected = ReferenceBeamSearch.Run(f, vocab, eos, beams, maxNew);
            var actual = RunRuntime(f, vocab, eos, beams, maxNew);
            Assert.True(expected.Tokens.AsSpan().SequenceEqual(actual.Tokens), $"seed {seed}: reference [{string.Join(' ', expected.Tokens)}], " +
                $"runtime [{string.Join(' ', actual.Tokens)}]");
            Assert.Equal(expected.Score, actual.Score, 9);
            finishedEarly += actual.Tokens.Length < maxNew ? 1 : 0;
        }
        if (eosBoost > 0.4)
        {
            Assert.True(finishedEarly > 0, "no run finished on EOS: the EOS paths were not exercised");
        }
    }

    [Fact]
    public void TopCandidates_AreTheBestScoresAcrossBeams_TiesByIndex()
    {
        float[][] logits = [[0, 1, 1, -5], [2, 0, 0, 0]];
        var c = LlamaDecoder.TopCandidates(logits, [0.0, -1.0], 3, 4);
        double lse0 = LlamaDecoder.LogSumExp(logits[0]), lse1 = LlamaDecoder.LogSumExp(logits[1]);
        Assert.Equal((0, 1), (c[0].Beam, c[0].Token));
        Assert.Equal((0, 2), (c[1].Beam, c[1].Token)); // equal score: lower flat index first
        Assert.Equal(1 - lse0, c[0].Score, 12);
        Assert.Equal(Math.Max(0 - lse0, -1 + 2 - lse1), c[2].Score, 12);
    }

    [Fact]
    public void Hypotheses_KeepTheBest_ScoredByLength()
    {
        var h = new BeamHypotheses(2);
        h.Add([1], -2.0, 2);     // -1.0
        h.Add([2, 2], -1.5, 3);  // -0.5
        h.Add([3], -4.0, 2);     // -2.0: worse than the worst kept, dropped
        h.Add([4, 4, 4], -0.8, 4); // -0.2: replaces -1.0
        Assert.Equal(2, h.Count);
        Assert.Equal(new[] { 4, 4, 4 }, h.Best().Tokens);
        Assert.Equal(-0.2, h.Best().Score, 12);
        Assert.True(h.IsDone(-1.0, 2));   // -0.5 >= -1.0/2
        Assert.False(h.IsDone(-0.5, 2));  // -0.5 < -0.25
    }
}
