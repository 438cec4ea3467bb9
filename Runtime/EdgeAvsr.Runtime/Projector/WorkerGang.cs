using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace EdgeAvsr.Runtime.Projector;

/// <summary>
/// Dedicated threads for the projector's parallel steps, the calling thread being worker 0.
/// Why not <c>Parallel.For</c>: its helpers are thread-pool work items, and the pool's threads are also what the
/// pipeline's stages, timers and I/O completions run on. Measured on the 2-core build VM (750 tokens, 2 threads,
/// 15 calls): the second worker started over 1 ms late in 10 of 15 calls (10 ms on average), and in a test host
/// with a busy pool it never joined at all, so the caller did the whole call alone. Helpers parked on their own
/// semaphore start within microseconds.
/// One call runs at a time; a call that arrives while another holds the helpers (a second projector or pipeline)
/// runs every worker index on its own thread instead of waiting.
/// </summary>
internal sealed class WorkerGang : IDisposable
{
    private readonly Lock _gate = new();
    private readonly List<Helper> _helpers = [];
    private readonly CountdownEvent _done = new(0);
    private readonly ConcurrentQueue<Exception> _errors = new();
    private bool _disposed;

    /// <summary>The projector's gang: its helper threads are made on first use and live as long as the process.</summary>
    public static WorkerGang Shared { get; } = new();

    /// <summary>
    /// Runs <paramref name="body"/>(w) for every w in [0, <paramref name="workers"/>) at once and returns when all have
    /// returned. A failure is rethrown after every worker has stopped, preferring one that is not a cancellation
    /// (a failing worker typically makes the others give up with <see cref="OperationCanceledException"/>).
    /// </summary>
    public void Run(int workers, Action<int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        // Inline when the helpers are busy, and when a worker of this very call asks (the lock is re-entrant).
        if (workers <= 1 || _gate.IsHeldByCurrentThread || !_gate.TryEnter())
        {
            for (int w = 0; w < Math.Max(1, workers); w++)
            {
                body(w);
            }
            return;
        }
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            while (_helpers.Count < workers - 1)
            {
                _helpers.Add(new Helper(this, _helpers.Count + 1));
            }
            _errors.Clear();
            _done.Reset(workers - 1);
            for (int w = 1; w < workers; w++)
            {
                _helpers[w - 1].Start(body, w);
            }
            try
            {
                body(0);
            }
            catch (Exception e)
            {
                _errors.Enqueue(e);
            }
            _done.Wait();
            if (!_errors.IsEmpty)
            {
                var errors = _errors.ToArray();
                ExceptionDispatchInfo.Capture(errors.FirstOrDefault(e => e is not OperationCanceledException) ?? errors[0]).Throw();
            }
        }
        finally
        {
            _gate.Exit();
        }
    }

    /// <summary>Ends the helper threads (after the call in progress, if any).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            foreach (var helper in _helpers)
            {
                helper.Start(null, 0);
            }
            _done.Dispose();
        }
    }

    /// <summary>One parked background thread; <see cref="Start"/> hands it a worker index of the current call.</summary>
    private sealed class Helper
    {
        private readonly WorkerGang _gang;
        private readonly SemaphoreSlim _go = new(0);
        private Action<int>? _body;
        private int _worker;

        public Helper(WorkerGang gang, int number)
        {
            _gang = gang;
            var thread = new Thread(Loop) { IsBackground = true, Name = $"edgeavsr-projector-{number}" };
            thread.Start();
        }

        /// <summary>Runs <paramref name="body"/>(<paramref name="worker"/>) on this thread; a null body ends the thread.</summary>
        public void Start(Action<int>? body, int worker)
        {
            _body = body;
            _worker = worker;
            _go.Release();
        }

        private void Loop()
        {
            while (true)
            {
                _go.Wait();
                var body = _body;
                if (body is null)
                {
                    _go.Dispose();
                    return;
                }
                try
                {
                    body(_worker);
                }
                catch (Exception e)
                {
                    _gang._errors.Enqueue(e);
                }
                finally
                {
                    _body = null;
                    _gang._done.Signal();
                }
            }
        }
    }
}
