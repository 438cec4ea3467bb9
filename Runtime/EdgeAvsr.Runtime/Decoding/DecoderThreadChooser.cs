namespace EdgeAvsr.Runtime.Decoding;

/// <summary>
/// Chooses the thread count of each single-token decode call from the times of the calls before it. llama.cpp's workers
/// spin at every barrier: when another process holds a core, a worker waits a whole time slice for a descheduled partner
/// and a token takes tens of times longer than on one thread. A thread count cannot be read off the load average (a
/// spinning kiosk thread and a sleeping one look alike), so this measures: it keeps the count that has been fastest,
/// now and then tries a neighbour count for a few calls, and keeps what the tries cost within
/// <see cref="ProbeBudget"/> of the decode time.
/// </summary>
/// <remarks>
/// Time is the sum of the recorded call times, not the wall clock, so a sequence of recorded times always gives the same
/// choices. Not thread-safe: one chooser per decoder.
/// </remarks>
public sealed class DecoderThreadChooser
{
    /// <summary>Calls of the current count whose median stands for it: a preempted call must not make a try look good.</summary>
    private const int Window = 15;

    /// <summary>A try must beat the current count by this fraction to replace it (noise must not flip the choice).</summary>
    private const double WinMargin = 0.05;

    /// <summary>Calls in a row this many times slower than the window's median mean the machine changed: try a neighbour now.</summary>
    private const double SlowdownFactor = 3.0;

    private const int SlowdownCalls = 3;

    /// <summary>Calls per try; the try scores the median of them after the first, which wakes the workers.</summary>
    private const int TryCalls = 5;

    /// <summary>A scored call of a try this many times slower than the current count ends the try as lost at once.</summary>
    private const double GiveUpFactor = 1.5;

    /// <summary>The longest wait between tries, so a core that frees up is noticed within seconds.</summary>
    private static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(5);

    private readonly double[] _recent = new double[Window];
    private int _recentCount;
    private int _recentNext;
    private int _slowCalls;
    private readonly double[] _tryMs = new double[TryCalls - 1];
    private readonly TimeSpan _firstWait;
    private TimeSpan _clock;
    private TimeSpan _nextTryAt;
    private TimeSpan _wait;
    private int _tryThreads;
    private int _tryCallsDone;
    private bool _tryBelowNext = true;

    /// <param name="maxThreads">The most threads a call may use (the decoder's configured count).</param>
    /// <param name="probeBudget">The share of decode time that losing tries may cost.</param>
    /// <param name="firstWait">Decode time before the first try, and after a try that won.</param>
    public DecoderThreadChooser(int maxThreads, double probeBudget = 0.05, TimeSpan? firstWait = null)
    {
        if (maxThreads < 1)
        {
            throw new EdgeAvsrException($"a thread chooser needs at least 1 thread, got {maxThreads}");
        }
        if (!(probeBudget > 0))
        {
            throw new EdgeAvsrException($"probe budget {probeBudget} must be above 0");
        }
        MaxThreads = maxThreads;
        ProbeBudget = probeBudget;
        Best = maxThreads;
        _firstWait = firstWait ?? TimeSpan.FromMilliseconds(20);
        _wait = _firstWait;
        _nextTryAt = _firstWait;
    }

    public int MaxThreads { get; }

    public double ProbeBudget { get; }

    /// <summary>The thread count that has been fastest; prompt batches use it too.</summary>
    public int Best { get; private set; }

    /// <summary>Tries started so far.</summary>
    public int Tries { get; private set; }

    /// <summary>Tries whose count replaced <see cref="Best"/>.</summary>
    public int Wins { get; private set; }

    /// <summary>The thread count for the next call.</summary>
    public int Next()
    {
        if (_tryThreads == 0 && MaxThreads > 1 && _clock >= _nextTryAt && _recentCount > 0)
        {
            _tryThreads = Neighbour();
            _tryCallsDone = 0;
            Tries++;
        }
        return _tryThreads != 0 ? _tryThreads : Best;
    }

    /// <summary>Records that a call on <paramref name="threads"/> threads took <paramref name="elapsed"/>.</summary>
    public void Record(int threads, TimeSpan elapsed)
    {
        if (threads < 1 || threads > MaxThreads)
        {
            throw new EdgeAvsrException($"thread count {threads} is outside 1..{MaxThreads}");
        }
        _clock += elapsed;
        double ms = elapsed.TotalMilliseconds;
        if (_tryThreads != 0 && threads == _tryThreads)
        {
            if (_tryCallsDone > 0)
            {
                _tryMs[_tryCallsDone - 1] = ms;
            }
            int scored = _tryCallsDone++;
            // A try that is clearly losing stops early: on a busy core a neighbour count can cost many times a call.
            bool losing = scored > 0 && ms > GiveUpFactor * Median(_recent.AsSpan(0, _recentCount));
            if (_tryCallsDone == TryCalls || losing)
            {
                FinishTry(scored);
            }
            return;
        }
        if (threads != Best)
        {
            return;
        }
        _slowCalls = _recentCount > 0 && ms > SlowdownFactor * Median(_recent.AsSpan(0, _recentCount)) ? _slowCalls + 1 : 0;
        Remember(ms);
        if (_slowCalls >= SlowdownCalls && MaxThreads > 1)
        {
            // The machine changed: only the slow calls describe the current count now, and a neighbour is tried at once.
            Span<double> slow = stackalloc double[SlowdownCalls];
            for (int i = 0; i < SlowdownCalls; i++)
            {
                slow[i] = _recent[(_recentNext - 1 - i + Window) % Window];
            }
            _recentCount = 0;
            _recentNext = 0;
            foreach (double t in slow)
            {
                Remember(t);
            }
            _slowCalls = 0;
            _nextTryAt = _clock;
            _wait = _firstWait;
        }
    }

    private void Remember(double ms)
    {
        _recent[_recentNext] = ms;
        _recentNext = (_recentNext + 1) % Window;
        _recentCount = Math.Min(_recentCount + 1, Window);
    }

    private static double Median(ReadOnlySpan<double> values)
    {
        Span<double> sorted = stackalloc double[values.Length];
        values.CopyTo(sorted);
        sorted.Sort();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private void FinishTry(int scored)
    {
        double tried = Median(_tryMs.AsSpan(0, scored));
        double current = Median(_recent.AsSpan(0, _recentCount));
        int candidate = _tryThreads;
        _tryThreads = 0;
        if (scored == TryCalls - 1 && tried < current * (1 - WinMargin))
        {
            Best = candidate;
            Wins++;
            // The new count's window starts with the try's calls.
            _recentCount = 0;
            _recentNext = 0;
            _slowCalls = 0;
            foreach (double t in _tryMs)
            {
                Remember(t);
            }
            _wait = _firstWait;
            _nextTryAt = _clock + _wait;
            return;
        }
        // A losing try cost (tried - current) per call; wait long enough that tries stay within the budget, and back
        // off while the choice keeps holding.
        double lostMs = Math.Max(0, tried - current) * (scored + 1);
        var budgetWait = TimeSpan.FromMilliseconds(lostMs / ProbeBudget);
        _wait = Min(MaxWait, _wait * 2);
        _nextTryAt = _clock + (budgetWait > _wait ? budgetWait : _wait);
    }

    /// <summary>One fewer thread and one more, in turn, within 1..MaxThreads.</summary>
    private int Neighbour()
    {
        bool below = Best > 1 && (_tryBelowNext || Best == MaxThreads);
        _tryBelowNext = !below;
        return below ? Best - 1 : Best + 1;
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
