namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>
/// One pipeline stage's compute so far: items handled (chunks for segmentation, utterances for the others) and the
/// time the last one and the mean one took, in milliseconds. Time spent waiting for a queue or for the CPU turn the
/// encoders and decoder take is not counted; a stage with nothing handled yet has zeros.
/// </summary>
public sealed record StageHealth(long Count, double LastMs, double MeanMs);
