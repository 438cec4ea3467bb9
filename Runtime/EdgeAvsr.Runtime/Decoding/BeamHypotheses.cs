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
