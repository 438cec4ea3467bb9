namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>Which task runs on a source: asked for, or (null: automatic) AVSR when both streams exist, else ASR or VSR.</summary>
public static class TaskSelection
{
    /// <summary>
    /// <paramref name="requested"/>: a task, or null to choose one; <paramref name="streams"/>: what the input has;
    /// <paramref name="packTasks"/>: what the pack supports. Errors about the requested task name the parameter <c>task</c>.
    /// </summary>
    public static (AvsrTask Task, string Reason) Choose(AvsrTask? requested, MediaStreams streams, IReadOnlyCollection<AvsrTask> packTasks)
    {
        ArgumentNullException.ThrowIfNull(packTasks);
        string supported = string.Join(", ", packTasks.Select(t => t.ToText()));
        if (requested is { } task)
        {
            if (!packTasks.Contains(task))
            {
                throw new EdgeAvsrException("task", name => $"{name} {task.ToText()}: the pack supports {supported}");
            }
            RequireStreams(task, streams);
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

    /// <summary>Fails, naming the parameter <c>task</c> and its value, when <paramref name="streams"/> lack a modality the task reads.</summary>
    public static void RequireStreams(AvsrTask task, MediaStreams streams)
    {
        if (task != AvsrTask.Vsr && !streams.HasAudio)
        {
            throw new EdgeAvsrException("task", name => $"{name} {task.ToText()} needs audio; the input has {streams}");
        }
        if (task != AvsrTask.Asr && !streams.HasVideo)
        {
            throw new EdgeAvsrException("task", name => $"{name} {task.ToText()} needs video; the input has {streams}");
        }
    }
}
