namespace EdgeAvsr.Runtime.Decoding;

/// <summary>Which modalities a prompt carries (Llama-AVSR's three tasks).</summary>
public enum AvsrTask
{
    /// <summary>Audio only: "Transcribe speech to text."</summary>
    Asr,
    /// <summary>Video only: "Transcribe video to text."</summary>
    Vsr,
    /// <summary>Audio and video: "Transcribe speech and video to text."</summary>
    Avsr,
}

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

    public static string ToText(this AvsrTask task) => task switch
    {
        AvsrTask.Asr => "asr",
        AvsrTask.Vsr => "vsr",
        _ => "avsr",
    };

    public static AvsrTask Parse(string text, string option) => text.ToUpperInvariant() switch
    {
        "ASR" => AvsrTask.Asr,
        "VSR" => AvsrTask.Vsr,
        "AVSR" => AvsrTask.Avsr,
        _ => throw new EdgeAvsrException($"{option} '{text}' is not asr, vsr or avsr"),
    };
}

/// <summary>A run of prompt positions: token ids, or embedding rows fed to llama.cpp as an embedding batch.</summary>
public sealed class PromptSegment
{
    private PromptSegment(int[]? tokens, FloatMatrix? embeddings)
    {
        Tokens = tokens;
        Embeddings = embeddings;
    }

    public int[]? Tokens { get; }

    public FloatMatrix? Embeddings { get; }

    public int Length => Tokens?.Length ?? Embeddings!.Rows;

    public static PromptSegment FromTokens(params int[] tokens) => new(tokens ?? throw new ArgumentNullException(nameof(tokens)), null);

    public static PromptSegment FromEmbeddings(FloatMatrix rows) => new(null, rows ?? throw new ArgumentNullException(nameof(rows)));
}

/// <summary>The positions fed to the decoder before generation starts, in order.</summary>
public sealed class DecoderPrompt
{
    public DecoderPrompt(IReadOnlyList<PromptSegment> segments)
    {
        ArgumentNullException.ThrowIfNull(segments);
        Segments = segments.Where(s => s.Length > 0).ToArray();
        if (Segments.Count == 0)
        {
            throw new EdgeAvsrException("empty prompt");
        }
    }

    public IReadOnlyList<PromptSegment> Segments { get; }

    public int Length => Segments.Sum(s => s.Length);

    /// <summary>
    /// Llama-AVSR's inference input: <c>[BOS] &lt;audio&gt; A… &lt;/audio&gt; &lt;video&gt; V… &lt;/video&gt; prompt</c>
    /// (models/modeling_AVSRLLM.py prepare_inputs: the prompt is tokenized without BOS/EOS, the modality
    /// blocks are inserted after BOS, audio before video). A and V are projector outputs [T, n_embd].
    /// <paramref name="promptText"/> overrides the authors' default instruction for the task (a pack's manifest carries its own).
    /// </summary>
    public static DecoderPrompt ForAvsr(DecoderModel model, AvsrTask task, FloatMatrix? audio, FloatMatrix? video, string? promptText = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        bool wantAudio = task != AvsrTask.Vsr, wantVideo = task != AvsrTask.Asr;
        if (wantAudio && audio is null)
        {
            throw new EdgeAvsrException($"task {task.ToText()} needs audio tokens");
        }
        if (wantVideo && video is null)
        {
            throw new EdgeAvsrException($"task {task.ToText()} needs video tokens");
        }
        if (!wantAudio && audio is not null)
        {
            throw new EdgeAvsrException($"task {task.ToText()} takes no audio tokens");
        }
        if (!wantVideo && video is not null)
        {
            throw new EdgeAvsrException($"task {task.ToText()} takes no video tokens");
        }
        var special = model.SpecialTokens;
        var segments = new List<PromptSegment>();
        var pending = new List<int> { model.Bos };
        void Block(FloatMatrix rows, int start, int end, string name)
        {
            if (rows.Columns != model.InputWidth)
            {
                throw new EdgeAvsrException($"{name} tokens have width {rows.Columns}, the model {Path.GetFileName(model.FilePath)} "
                    + $"takes embeddings of width {model.InputWidth} (n_embd)");
            }
            if (rows.Rows == 0)
            {
                throw new EdgeAvsrException($"{name} tokens: empty input (0 rows)");
            }
            pending.Add(start);
            segments.Add(PromptSegment.FromTokens([.. pending]));
            pending.Clear();
            segments.Add(PromptSegment.FromEmbeddings(rows));
            pending.Add(end);
        }
        if (audio is not null)
        {
            Block(audio, special.AudioStart, special.AudioEnd, "audio");
        }
        if (video is not null)
        {
            Block(video, special.VideoStart, special.VideoEnd, "video");
        }
        pending.AddRange(model.Tokenize(promptText ?? task.PromptText()));
        segments.Add(PromptSegment.FromTokens([.. pending]));
        return new DecoderPrompt(segments);
    }

    /// <summary>A text prompt: BOS then the text's tokens.</summary>
    public static DecoderPrompt ForText(DecoderModel model, string text)
    {
        ArgumentNullException.ThrowIfNull(model);
        return new DecoderPrompt([PromptSegment.FromTokens([model.Bos, .. model.Tokenize(text)])]);
    }
}
