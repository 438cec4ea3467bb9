using EdgeAvsr.Runtime.Pipeline;

namespace EdgeAvsr.Serve;

/// <summary>
/// Where the daemon's captions come from: the live pipeline over devices, or a replayed captions file. The daemon
/// journals each final and publishes every caption in the order the producer yields them.
/// </summary>
public interface ICaptionProducer
{
    /// <summary>
    /// Captions until the input ends or <paramref name="drain"/> is cancelled. A drain is not an abort: the producer
    /// stops taking input, yields the final caption of the utterance in flight (if any), then ends the sequence
    /// without throwing.
    /// </summary>
    IAsyncEnumerable<Caption> RunAsync(CancellationToken drain);

    /// <summary>A snapshot for /health and the page; plain data, safe to read from any thread at any time.</summary>
    ProducerHealth Health { get; }
}
