namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>
/// Where one run of <see cref="AvsrPipeline"/> starts: the stream sample its buffers begin at and the number of its first
/// utterance (a live captioner's next pipeline carries on from the last); <see cref="DropFinalsWithoutVideo"/>: a final
/// whose video never came is dropped and counted (live) instead of failing the run (files).
/// </summary>
internal readonly record struct PipelineRun(long StartSample = 0, int FirstUtterance = 0, bool DropFinalsWithoutVideo = false);
