using EdgeAvsr.Runtime.Decoding;

namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>Which task runs on a source: asked for, or (<c>auto</c>) AVSR when both streams exist, else ASR or VSR.</summary>
public static class TaskSelection
{
    /// <summary><paramref name="requested"/> is asr, vsr, avsr or auto; <paramref name="streams"/> what the input has; <paramref name="packTasks"/> what the pack supports.</summary>
    public static (AvsrTask Task, string Reason) Choose(string requested, MediaStreams streams, IReadOnlyCollection<AvsrTask> packTasks)
    {
        ArgumentNullException.ThrowIfNull(requested);
        ArgumentNullException.ThrowIfNull(packTasks);
        string supported = string.Join(", ", packTasks.Select(t => t.ToText()));
        if (!string.Equals(requested, "auto", StringComparison.OrdinalIgnoreCase))
        {
            var task = AvsrTasks.Parse(requested, "--task");
            if (!packTasks.Contains(task))
            {
                throw new EdgeAvsrException($"--task {task.ToText()}: the pack supports {supported}");
            }
            RequireStreams(task, streams, "--task");
            return (task, "asked for");
        }
        if (streams.HasAudio && streams.HasVideo && packTasks.Contains(AvsrTask.Avsr))
        {
            return (AvsrTask.Avsr, "audio and video present");
        }
        if (streams.HasAudio && packTasks.Contains(AvsrTask.Asr))
        {
            return (AvsrTask.Asr, streams.HasVideo ? $"audio and video present, but the pack supports {supported}" : "audio only");
        }
        if (streams.HasVideo && packTasks.Contains(AvsrTask.Vsr))
        {
            return (AvsrTask.Vsr, streams.HasAudio ? $"audio and video present, but the pack supports {supported}" : "video only");
        }
        throw new EdgeAvsrException($"the input has {streams}; the pack supports {supported}: no task fits");
    }

    /// <summary>Fails, naming <paramref name="what"/> and the task, when <paramref name="streams"/> lack a modality the task reads.</summary>
    public static void RequireStreams(AvsrTask task, MediaStreams streams, string what = "task")
    {
        if (task != AvsrTask.Vsr && !streams.HasAudio)
        {
            throw new EdgeAvsrException($"{what} {task.ToText()} needs audio; the input has {streams}");
        }
        if (task != AvsrTask.Asr && !streams.HasVideo)
        {
            throw new EdgeAvsrException($"{what} {task.ToText()} needs video; the input has {streams}");
        }
    }
}
