namespace EdgeAvsr.Runtime.Decoding;

/// <summary>
/// The finished-hypothesis list of Hugging Face beam search (transformers 4.43 <c>BeamHypotheses</c>) with
/// length_penalty 1.0 and early_stopping false: a hypothesis scores its summed log-probabilities divided by
/// its generated length (the finishing EOS counted; prompt excluded); at most <c>numBeams</c> are kept.
/// </summary>
internal sealed class BeamHypotheses
{
    private readonly int _numBeams;
    private readonly List<(double Score, int[] Tokens)> _beams = [];
    private double _worstScore = 1e9;

    public BeamHypotheses(int numBeams) => _numBeams = numBeams;

    public int Count => _beams.Count;

    public void Add(int[] tokens, double sumLogProbs, int generatedLength)
    {
        double score = sumLogProbs / generatedLength;
        if (_beams.Count < _numBeams || score > _worstScore)
        {
            _beams.Add((score, tokens));
            if (_beams.Count > _numBeams)
            {
                // sorted((score, index)): the worst goes, the earliest among equal scores first.
                var order = _beams.Select((b, i) => (b.Score, i)).OrderBy(x => x.Score).ThenBy(x => x.i).ToArray();
                _beams.RemoveAt(order[0].i);
                _worstScore = order[1].Score;
            }
            else
            {
                _worstScore = Math.Min(score, _worstScore);
            }
        }
    }

    /// <summary>early_stopping=false: done once full and no running beam can beat the worst kept hypothesis.</summary>
    public bool IsDone(double bestSumLogProbs, int currentLength)
    {
        if (_beams.Count < _numBeams)
        {
            return false;
        }
        return _worstScore >= bestSumLogProbs / currentLength;
    }

    /// <summary>The best hypothesis (Python's stable sort then pop(): the last added among equal best scores).</summary>
    public (double Score, int[] Tokens) Best()
    {
        var best = _beams[0];
        foreach (var b in _beams)
        {
            if (b.Score >= best.Score)
            {
                best = b;
            }
        }
        return best;
    }
}

/// <summary>
/// Hugging Face beam search (transformers 4.43 <c>_beam_search</c> + <c>BeamSearchScorer</c>, one batch item,
/// length_penalty 1.0, early_stopping false) independent of how logits are produced: each <see cref="Step"/>
/// takes the next-token logits of every running beam and says which beam each new beam continues.
/// </summary>
internal sealed class BeamSearchState
{
    private readonly int _beams;
    private readonly int _vocab;
    private readonly int _maxNew;
    private readonly int _keep;
    private readonly Func<int, bool> _isEnd;
    private readonly BeamHypotheses _hypotheses;
    private bool _done;

    public BeamSearchState(int beams, int vocab, IReadOnlySet<int> endTokens, int maxNewTokens)
    {
        _beams = beams;
        _vocab = vocab;
        _maxNew = maxNewTokens;
        _isEnd = endTokens.Contains;
        // HF keeps max(2, 1 + #eos) * num_beams candidates per step: enough that num_beams of them are not EOS.
        _keep = Math.Max(2, 1 + endTokens.Count) * beams;
        _hypotheses = new BeamHypotheses(beams);
        Tokens = Enumerable.Repeat(Array.Empty<int>(), beams).ToArray();
        Scores = new double[beams];
        // All beams start as the prompt; only beam 0 counts at first (HF: beam_scores[:, 1:] = -1e9).
        for (int b = 1; b < beams; b++)
        {
            Scores[b] = -1e9;
        }
    }

    /// <summary>Generated tokens of each running beam.</summary>
    public int[][] Tokens { get; private set; }

    /// <summary>Summed log-probabilities of each running beam.</summary>
    public double[] Scores { get; private set; }

    public int Length { get; private set; }

    /// <summary>
    /// One step: <paramref name="logits"/>[b] are beam b's next-token logits. Returns false when the search is
    /// over (done, or the token limit reached); otherwise the new beams (parent beam, token) to feed next.
    /// </summary>
    public bool Step(float[][] logits, out int[] parents, out int[] tokens)
    {
        var candidates = LlamaDecoder.TopCandidates(logits, Scores, _keep, _vocab);
        int curLen = Length + 1;
        tokens = new int[_beams];
        parents = new int[_beams];
        var scores = new double[_beams];
        int filled = 0;
        for (int rank = 0; rank < candidates.Length && filled < _beams; rank++)
        {
            var (score, parent, token) = candidates[rank];
            if (_isEnd(token))
            {
                if (rank < _beams)
                {
                    _hypotheses.Add(Tokens[parent], score, curLen);
                }
                continue;
            }
            tokens[filled] = token;
            scores[filled] = score;
            parents[filled] = parent;
            filled++;
        }
        if (filled < _beams)
        {
            throw new InvalidOperationException($"beam search: only {filled} of {_beams} candidates are not end-of-generation tokens");
        }
        _done = _hypotheses.IsDone(candidates[0].Score, curLen);
        var next = new int[_beams][];
        for (int b = 0; b < _beams; b++)
        {
            next[b] = [.. Tokens[parents[b]], tokens[b]];
        }
        Tokens = next;
        Scores = scores;
        Length = curLen;
        return !_done && curLen < _maxNew;
    }

    /// <summary>The winner: running beams join the hypotheses unless the search finished early.</summary>
    public (double Score, int[] Tokens) Finish()
    {
        if (!_done)
        {
            for (int b = 0; b < _beams; b++)
            {
                _hypotheses.Add(Tokens[b], Scores[b], Tokens[b].Length);
            }
        }
        return _hypotheses.Best();
    }
}
