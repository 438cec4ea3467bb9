namespace EdgeAvsr.Runtime;

/// <summary>The rule every thread count shares: 0 means one per core, a negative count is the caller's error.</summary>
public static class ThreadCount
{
    /// <summary>
    /// Throws <see cref="EdgeAvsrException"/> (parameter <c>threads</c>) for a negative <paramref name="threads"/>;
    /// checked before any work starts.
    /// </summary>
    public static void Check(int threads)
    {
        if (threads < 0)
        {
            throw new EdgeAvsrException("threads", name => $"{name} must be 0 (one per core) or more, got {threads}");
        }
    }

    /// <summary>The worker count <paramref name="threads"/> asks for: itself, or one per logical core for 0.</summary>
    public static int Resolve(int threads)
    {
        Check(threads);
        return threads == 0 ? Environment.ProcessorCount : threads;
    }
}
