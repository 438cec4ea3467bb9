namespace EdgeAvsr.Runtime.Audio.Vad;

/// <summary>Turns per-window speech probabilities into segments (<see cref="VadOptions"/>); pure, no model.</summary>
public static class VadSegmenter
{
    public static IReadOnlyList<SpeechSegment> Segments(ReadOnlySpan<float> probabilities, long totalSamples, VadOptions options)
    {
        var tracker = new VadTracker(options);
        var result = new List<SpeechSegment>();
        for (int i = 0; i < probabilities.Length; i++)
        {
            tracker.Push(probabilities[i], result);
        }
        tracker.Finish(totalSamples, result);
        return result;
    }
}
