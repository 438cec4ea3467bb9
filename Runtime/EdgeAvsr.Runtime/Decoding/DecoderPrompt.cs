namespace EdgeAvsr.Runtime.Decoding;

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
