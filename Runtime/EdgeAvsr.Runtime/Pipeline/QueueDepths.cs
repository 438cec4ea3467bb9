namespace EdgeAvsr.Runtime.Pipeline;

/// <summary>
/// Items waiting in each bounded channel between the stages at one moment, each at most <see cref="Capacity"/>:
/// cut utterances before the front-ends, featured ones before the encoders, projected ones before the decoder, and
/// captions the consumer has not taken yet. All zero while the pipeline is not running.
/// </summary>
public sealed record QueueDepths(int Cut, int Featured, int Projected, int Captions, int Capacity);
