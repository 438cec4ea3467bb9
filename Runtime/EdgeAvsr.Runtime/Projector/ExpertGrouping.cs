namespace EdgeAvsr.Runtime.Projector;

/// <summary>The routed (token, slot) pairs grouped by expert, as both precisions run them.</summary>
internal static class ExpertGrouping
{
    /// <summary>
    /// Counting sort of the slots by expert, slot (so token) order kept within an expert: the rows of expert
    /// <c>i</c> are <c>start[i] .. start[i + 1] - 1</c> of the row space (<paramref name="start"/> holds experts + 1
    /// entries); <paramref name="slotOfRow"/> and <paramref name="rowOfSlot"/> map rows and slots to each other.
    /// </summary>
    public static void Group(ReadOnlySpan<int> slotExperts, Span<int> start, Span<int> slotOfRow, Span<int> rowOfSlot)
    {
        int e = start.Length - 1;
        start.Clear();
        foreach (int expert in slotExperts)
        {
            start[expert + 1]++;
        }
        for (int i = 0; i < e; i++)
        {
            start[i + 1] += start[i];
        }
        // Placing a slot advances its expert's start to the next free row; afterwards start[i] is the end of expert
        // i's rows, i.e. the start of expert i + 1's, so shifting by one restores the starts.
        for (int s = 0; s < slotExperts.Length; s++)
        {
            int row = start[slotExperts[s]]++;
            slotOfRow[row] = s;
            rowOfSlot[s] = row;
        }
        for (int i = e; i > 0; i--)
        {
            start[i] = start[i - 1];
        }
        start[0] = 0;
    }
}
