using EdgeAvsr.Runtime.Decoding;

namespace EdgeAvsr.Runtime.Tests.Decoding;

/// <summary>
/// The adaptive thread choice on simulated machines: each machine says how long a call on n threads takes, with seeded
/// noise, and the test drives the chooser as the decoder does (Next, then Record).
/// </summary>
public class DecoderThreadChooserTests
{
    /// <summary>Runs <paramref name="calls"/> calls; returns the time spent and the thread count of each call.</summary>
    private static (double TotalMs, int[] Counts) Drive(DecoderThreadChooser chooser, int calls, Func<int, int, double> callMs)
    {
        double total = 0;
        var counts = new int[calls];
        for (int i = 0; i < calls; i++)
        {
            int n = chooser.Next();
            double ms = callMs(i, n);
            chooser.Record(n, TimeSpan.FromMilliseconds(ms));
            total += ms;
            counts[i] = n;
        }
        return (total, counts);
    }

    private static Func<int, int, double> Noisy(int seed, double noise, Func<int, int, double> ms)
    {
        var rng = new Random(seed);
        return (i, n) => ms(i, n) * (1 + noise * (2 * rng.NextDouble() - 1));
    }

    // The measured collapse (issue 20): one core busy, 2 threads take ~65x one thread's time per token.
    private static double BusyCore(int threads) => threads == 1 ? 0.22 : 14.7;

    [Fact]
    public void BusyCore_SettlesOnOneThread_AndTriesCostAtMostTheBudget()
    {
        var chooser = new DecoderThreadChooser(2);
        var (total, counts) = Drive(chooser, 20_000, Noisy(1, 0.1, (_, n) => BusyCore(n)));
        Assert.Equal(1, chooser.Best);
        Assert.True(chooser.Wins >= 1);
        // All on one thread would take 20,000 x 0.22 ms. On top: the first calls on 2 threads, the try right after the win
        // (its wait is short), and later tries within the budget.
        double ideal = 20_000 * 0.22;
        double oneTry = 5 * 14.7 * 1.1;
        Assert.True(total <= ideal * (1 + chooser.ProbeBudget) + 2 * oneTry, $"{total:F0} ms against {ideal:F0} ms on one thread");
        Assert.True(counts.Skip(1000).Count(n => n == 2) < 50, "two threads kept being tried");
    }

    [Fact]
    public void IdleMachine_KeepsTwoThreads_WhenTheyAreFaster()
    {
        var chooser = new DecoderThreadChooser(2);
        var (total, _) = Drive(chooser, 20_000, Noisy(2, 0.1, (_, n) => n == 1 ? 40.0 : 25.0));
        Assert.Equal(2, chooser.Best);
        Assert.Equal(0, chooser.Wins);
        Assert.True(total <= 20_000 * 25.0 * (1 + chooser.ProbeBudget), $"{total:F0} ms");
    }

    [Fact]
    public void Noise_DoesNotFlipTheChoice_BetweenClearlyDifferentCounts()
    {
        var chooser = new DecoderThreadChooser(2);
        Drive(chooser, 50_000, Noisy(3, 0.15, (_, n) => n == 1 ? 1.5 : 1.0));
        Assert.Equal(2, chooser.Best);
        Assert.Equal(0, chooser.Wins);
    }

    [Fact]
    public void CoreTakenThenFreed_FollowsTheMachine()
    {
        var chooser = new DecoderThreadChooser(2);
        // Idle for 5,000 calls, a core busy for the next 20,000, idle again after.
        Func<int, int, double> machine = (i, n) => i is >= 5_000 and < 25_000 ? BusyCore(n) : n == 1 ? 0.22 : 0.13;
        var (_, counts) = Drive(chooser, 70_000, Noisy(4, 0.1, machine));
        int idleTwo = counts.Skip(4_000).Take(1_000).Count(n => n == 2);
        Assert.True(idleTwo > 990, $"idle: {idleTwo} of 1,000 on two threads");
        // The slowdown is noticed within a handful of calls.
        Assert.True(counts.Skip(5_000).Take(20).Count(n => n == 2) <= 8, $"busy core noticed late: {string.Join(' ', counts.Skip(5_000).Take(20))}");
        int busyOne = counts.Skip(6_000).Take(19_000).Count(n => n == 1);
        Assert.True(busyOne > 18_900, $"busy: {busyOne} of 19,000 on one thread");
        // Freed: two threads are back within the longest wait (5 s of decode time is at most ~23,000 one-thread calls).
        int againTwo = counts.Skip(60_000).Count(n => n == 2);
        Assert.True(againTwo > 9_900, $"idle again: {againTwo} of 10,000 on two threads");
        Assert.Equal(2, chooser.Best);
        Assert.True(chooser.Wins >= 2);
    }

    [Fact]
    public void FourThreads_OneCoreBusy_SettlesOnThree()
    {
        var chooser = new DecoderThreadChooser(4);
        Drive(chooser, 20_000, Noisy(5, 0.1, (_, n) => n switch { 4 => 20.0, 3 => 1.0, 2 => 1.4, _ => 2.5 }));
        Assert.Equal(3, chooser.Best);
    }

    [Fact]
    public void OneThread_NeverTries()
    {
        var chooser = new DecoderThreadChooser(1);
        var (_, counts) = Drive(chooser, 1_000, (_, _) => 1.0);
        Assert.All(counts, n => Assert.Equal(1, n));
        Assert.Equal(0, chooser.Tries);
    }

    [Fact]
    public void Record_RefusesACountOutsideItsRange_AndTheConstructorABadBudget()
    {
        var chooser = new DecoderThreadChooser(2);
        Assert.Contains("thread count 3 is outside 1..2", Assert.Throws<EdgeAvsrException>(() => chooser.Record(3, TimeSpan.FromMilliseconds(1))).Message,
            StringComparison.Ordinal);
        Assert.Throws<EdgeAvsrException>(() => new DecoderThreadChooser(0));
        Assert.Throws<EdgeAvsrException>(() => new DecoderThreadChooser(2, probeBudget: 0));
    }
}
