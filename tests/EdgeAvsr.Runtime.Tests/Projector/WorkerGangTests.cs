using System.Collections.Concurrent;
using EdgeAvsr.Runtime.Projector;

namespace EdgeAvsr.Runtime.Tests.Projector;

public class WorkerGangTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public void EveryWorkerRunsOnce_AllAtTheSameTime_OnTheCallerAndDedicatedThreads()
    {
        // Each worker waits until all have arrived: this only returns if the workers really run concurrently,
        // even when the thread pool is saturated (which is what the gang exists for).
        const int workers = 4;
        var arrived = new CountdownEvent(workers);
        var seen = new ConcurrentDictionary<int, string?>();
        int caller = Environment.CurrentManagedThreadId;
        using var gang = new WorkerGang();
        using var release = new ManualResetEventSlim();
        using var blockers = SaturateThreadPool(release);
        try
        {
            gang.Run(workers, w =>
            {
                Assert.True(seen.TryAdd(w, w == 0 ? null : Thread.CurrentThread.Name), $"worker {w} ran twice");
                arrived.Signal();
                Assert.True(arrived.Wait(Patience), $"worker {w}: the others never started");
                if (w == 0)
                {
                    Assert.Equal(caller, Environment.CurrentManagedThreadId);
                }
            });
        }
        finally
        {
            release.Set();
            blockers.Wait(Patience);
        }
        Assert.Equal(Enumerable.Range(0, workers), seen.Keys.Order());
        Assert.All(seen.Where(p => p.Key > 0), p => Assert.StartsWith("edgeavsr-projector-", p.Value, StringComparison.Ordinal));
    }

    [Fact]
    public void Failure_IsRethrown_PreferringTheCauseOverCancellations_AndTheGangStillWorks()
    {
        using var gang = new WorkerGang();
        var e = Assert.Throws<InvalidOperationException>(() => gang.Run(3, w =>
        {
            if (w == 2)
            {
                throw new InvalidOperationException("item failed");
            }
            throw new OperationCanceledException("gave up");
        }));
        Assert.Equal("item failed", e.Message);

        int ran = 0;
        gang.Run(3, _ => Interlocked.Increment(ref ran));
        Assert.Equal(3, ran);

        // A worker that asks the gang for workers itself gets them inline (no deadlock), on the caller and on a helper.
        int nested = 0;
        gang.Run(2, _ => gang.Run(2, _ => Interlocked.Increment(ref nested)));
        Assert.Equal(4, nested);

        gang.Dispose();
        Assert.Throws<ObjectDisposedException>(() => gang.Run(2, _ => { }));
    }

    [Fact]
    public void ASecondCall_WhileTheGangIsBusy_RunsInlineOnItsOwnThread()
    {
        using var gang = new WorkerGang();
        using var inside = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var first = new Thread(() => gang.Run(2, w =>
        {
            if (w == 0)
            {
                inside.Set();
                release.Wait(Patience);
            }
        }));
        first.Start();
        Assert.True(inside.Wait(Patience));
        try
        {
            int me = Environment.CurrentManagedThreadId;
            var threads = new ConcurrentBag<int>();
            var order = new ConcurrentQueue<int>();
            gang.Run(3, w =>
            {
                threads.Add(Environment.CurrentManagedThreadId);
                order.Enqueue(w);
            });
            Assert.All(threads, t => Assert.Equal(me, t));
            Assert.Equal([0, 1, 2], order);
        }
        finally
        {
            release.Set();
            first.Join(Patience);
        }
    }

    // Occupies every thread-pool thread until released, as a busy pipeline's stages do, with enough queued behind them
    // that the pool's starvation injection (about two threads a second) would not reach a pool-based helper in time.
    private static CountdownEvent SaturateThreadPool(ManualResetEventSlim release)
    {
        ThreadPool.GetMinThreads(out int workers, out _);
        var finished = new CountdownEvent(workers + 32);
        for (int i = 0; i < workers + 32; i++)
        {
            ThreadPool.QueueUserWorkItem(_ =>
            {
                release.Wait(Patience);
                finished.Signal();
            });
        }
        return finished;
    }
}
