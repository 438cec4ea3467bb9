namespace EdgeAvsr.Serve;

/// <summary>A periodic timer's next tick, as false once stopped (no exception to catch at every loop).</summary>
internal static class Ticks
{
    public static async Task<bool> NextAsync(PeriodicTimer timer, CancellationToken stop)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
