namespace EdgeAvsr.Cli.Evaluation;

/// <summary>
/// Word errors of hypotheses against references: the word-level edit distance (substitutions, deletions, insertions)
/// over whitespace-separated words, summed over utterances and divided by the reference words (corpus WER), as
/// Models/train/common.py's <c>wer</c> computes it, so EdgeAvsr's and PyTorch's tables are the same measure.
/// </summary>
internal sealed class WordErrors
{
    public long Edits { get; private set; }

    public long ReferenceWords { get; private set; }

    public int Utterances { get; private set; }

    /// <summary>Corpus word error rate (0 when no reference word was counted).</summary>
    public double Rate => ReferenceWords == 0 ? 0 : (double)Edits / ReferenceWords;

    public void Add(string reference, string hypothesis)
    {
        var r = Words(reference);
        var h = Words(hypothesis);
        Edits += Distance(r, h);
        ReferenceWords += r.Length;
        Utterances++;
    }

    public static string[] Words(string text) => text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Levenshtein distance over words, one row of the table at a time.</summary>
    public static int Distance(IReadOnlyList<string> reference, IReadOnlyList<string> hypothesis)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(hypothesis);
        var row = new int[hypothesis.Count + 1];
        for (int j = 0; j < row.Length; j++)
        {
            row[j] = j;
        }
        for (int i = 1; i <= reference.Count; i++)
        {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= hypothesis.Count; j++)
            {
                int above = row[j];
                int substitution = diagonal + (string.Equals(reference[i - 1], hypothesis[j - 1], StringComparison.Ordinal) ? 0 : 1);
                row[j] = Math.Min(Math.Min(above + 1, row[j - 1] + 1), substitution);
                diagonal = above;
            }
        }
        return row[hypothesis.Count];
    }
}
