namespace EdgeAvsr.Runtime;

public static class AvsrTasks
{
    /// <summary>The authors' prompt texts (eval_LlamaSMoP.py defaults <c>prompt-audio</c>, <c>prompt-video</c>, <c>prompt-audiovisual</c>).</summary>
    public static string PromptText(this AvsrTask task) => task switch
    {
        AvsrTask.Asr => "Transcribe speech to text.",
        AvsrTask.Vsr => "Transcribe video to text.",
        AvsrTask.Avsr => "Transcribe speech and video to text.",
        _ => throw new ArgumentOutOfRangeException(nameof(task)),
    };

    public static string ToText(this AvsrTask task) => EnumText<AvsrTask>.ToText(task);

    /// <summary><c>asr</c>, <c>vsr</c> or <c>avsr</c> (any case); an error names <paramref name="what"/>.</summary>
    public static AvsrTask Parse(string text, string what) => EnumText<AvsrTask>.Parse(text, what);
}
