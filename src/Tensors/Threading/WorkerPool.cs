using System.Diagnostics;

namespace Nn.Simd.Tensors.Threading;

/// <summary>A piece of work split into parts, run by <see cref="WorkerPool"/>.</summary>
internal interface IParallelWork
{
    /// <summary>Runs part <paramref name="part"/> of <paramref name="parts"/>; parts run concurrently.</summary>
    void Execute(int part, int parts);
}

/// <summary>
/// A process-wide pool of persistent worker threads for kernels that split one call over a few cores
/// (GEMM, recurrent batch splits).
/// </summary>
/// <remarks>
/// <para>
/// Why not <c>Task</c> or <c>Parallel.For</c>: a recurrent layer issues one small GEMM per time step, every
/// few microseconds. Starting a task costs an allocation and a thread-pool hop per call, and waking a parked
/// thread-pool thread costs tens of microseconds. Here each worker, after finishing a part, spins for
/// <see cref="SpinMicroseconds"/> watching for the next job, and only then sleeps on an event; a caller that
/// issues calls back to back therefore hands work over through one shared-memory write.
/// </para>
/// <para>
/// The spin yields the core every few hundred nanoseconds (<see cref="Thread.Yield"/>). On a busy machine the
/// worker can be woken on the caller's own core; a spin that never yielded would then keep the caller off the
/// CPU until the spin ran out (measured: a 38 µs GEMM took 260 µs at 2 threads). For the same reason a post
/// that no worker has started when the caller finishes is taken back (<see cref="Run"/>): the caller never waits
/// for a thread the OS has not scheduled.
/// </para>
/// <para>
/// The pool runs one job at a time. The caller runs part 0 itself and parts 1..n-1 go to workers. A caller
/// that finds the pool busy (another thread is using it) gets <see langword="false"/> from
/// <see cref="TryEnter"/> and must run its work on its own thread; kernels are written so that results do
/// not depend on how the work was split, so this changes timing only.
/// </para>
/// <para>
/// Steady state allocates nothing: workers are created once (lazily, up to the largest degree asked for) and
/// the caller passes a reusable <see cref="IParallelWork"/> object.
/// </para>
/// </remarks>
internal static class WorkerPool
{
    /// <summary>How long an idle worker spins for the next job before it sleeps.</summary>
    internal const int SpinMicroseconds = 200;

    private const int MaxWorkers = 63;

    private static readonly object s_growLock = new();
    private static Worker[] s_workers = [];
    private static int s_busy;
    private static long s_parallelRuns;

    /// <summary>How many jobs have been handed to workers so far (for tests and diagnostics).</summary>
    public static long ParallelRuns => Volatile.Read(ref s_parallelRuns);

    // The current job, written by the owner before it bumps each worker's generation.
    private static IParallelWork? s_work;
    private static int s_parts;
    private static int s_remaining;
    private static Exception? s_failure;

    /// <summary>
    /// Takes the pool for one job. Returns <see langword="false"/> when another thread holds it; the caller
    /// must then do its work alone. On <see langword="true"/>, call <see cref="Run"/> once, which releases it.
    /// </summary>
    public static bool TryEnter() => Interlocked.CompareExchange(ref s_busy, 1, 0) == 0;

    /// <summary>
    /// Runs <paramref name="work"/> as up to <paramref name="parts"/> parts: part 0 on the calling thread, the
    /// rest on workers; returns when all started parts are done and releases the pool. Must follow a successful
    /// <see cref="TryEnter"/>.
    /// </summary>
    /// <remarks>
    /// A part that no worker has begun by the time part 0 returns is cancelled and never runs, so
    /// <paramref name="work"/> must let part 0 finish everything (e.g. by handing out chunks from a shared
    /// counter until none are left); the parts given to workers are then only help.
    /// </remarks>
    /// <exception cref="AggregateException">A part threw; the first exception is wrapped.</exception>
    public static void Run(IParallelWork work, int parts)
    {
        Debug.Assert(Volatile.Read(ref s_busy) == 1, "Run without TryEnter.");
        try
        {
            if (parts <= 1)
            {
                work.Execute(0, 1);
                return;
            }
            Worker[] workers = EnsureWorkers(parts - 1);
            Interlocked.Increment(ref s_parallelRuns);
            s_work = work;
            s_parts = parts;
            s_failure = null;
            Volatile.Write(ref s_remaining, parts - 1);
            for (int w = 0; w < parts - 1; w++)
                workers[w].Post(w + 1);

            Exception? mine = null;
            try { work.Execute(0, parts); }
            catch (Exception ex) { mine = ex; }

            // Work that lets parts take over each other's share (as the GEMM's chunk queue does) is usually
            // finished by now even if a worker never got a core; take back posts no worker has started, so that
            // we do not wait for a thread the OS has not scheduled. Then wait for the ones that did start.
            for (int w = 0; w < parts - 1; w++)
                if (workers[w].TryRevoke()) Interlocked.Decrement(ref s_remaining);
            var spin = new SpinWait();
            while (Volatile.Read(ref s_remaining) != 0)
                spin.SpinOnce(sleep1Threshold: -1);
            s_work = null;
            Exception? failure = mine ?? s_failure;
            if (failure is not null)
                throw new AggregateException("A parallel kernel part failed.", failure);
        }
        finally
        {
            Volatile.Write(ref s_busy, 0);
        }
    }

    private static Worker[] EnsureWorkers(int count)
    {
        Worker[] workers = s_workers;
        if (workers.Length >= count) return workers;
        if (count > MaxWorkers)
            throw new ArgumentOutOfRangeException(nameof(count), $"At most {MaxWorkers} workers are supported; asked for {count}.");
        lock (s_growLock)
        {
            workers = s_workers;
            if (workers.Length >= count) return workers;
            var grown = new Worker[count];
            Array.Copy(workers, grown, workers.Length);
            for (int i = workers.Length; i < count; i++)
                grown[i] = new Worker(i + 1);
            s_workers = grown;
            return grown;
        }
    }

    private static void Complete(Exception? failure)
    {
        if (failure is not null) Interlocked.CompareExchange(ref s_failure, failure, null);
        Interlocked.Decrement(ref s_remaining);
    }

    private sealed class Worker
    {
        private readonly ManualResetEventSlim _wake = new(false, spinCount: 0);
        private int _generation;   // bumped by the owner for each job given to this worker
        private int _part;
        private int _sleeping;
        private int _state;        // Posted → Taken (by the worker) or Revoked (by the owner)
        private const int Posted = 1, Taken = 2, Revoked = 3;

        public Worker(int index)
        {
            var thread = new Thread(Loop)
            {
                IsBackground = true,
                Name = $"Nn.Simd worker {index}",
            };
            thread.Start();
        }

        public void Post(int part)
        {
            _part = part;
            Volatile.Write(ref _state, Posted);
            Interlocked.Increment(ref _generation);       // full fence: publishes the job fields, _part and _state
            if (Volatile.Read(ref _sleeping) == 1) _wake.Set();
        }

        /// <summary>Cancels the current post if this worker has not started it; exactly one side wins.</summary>
        public bool TryRevoke() => Interlocked.CompareExchange(ref _state, Revoked, Posted) == Posted;

        private void Loop()
        {
            int seen = 0;
            long spinTicks = Stopwatch.Frequency * SpinMicroseconds / 1_000_000;
            while (true)
            {
                // Spin briefly for the next job, then sleep.
                long start = Stopwatch.GetTimestamp();
                int spins = 0;
                while (Volatile.Read(ref _generation) == seen)
                {
                    if (++spins < 16) { Thread.SpinWait(16); continue; }
                    spins = 0;
                    // Give the core away if anything else wants it: when the machine is oversubscribed the
                    // caller may be queued on this very core, waiting for us to stop spinning.
                    Thread.Yield();
                    if (Stopwatch.GetTimestamp() - start < spinTicks) continue;
                    _wake.Reset();
                    Interlocked.Exchange(ref _sleeping, 1);   // full fence, pairs with Post's increment
                    if (Volatile.Read(ref _generation) == seen) _wake.Wait();
                    Volatile.Write(ref _sleeping, 0);
                    start = Stopwatch.GetTimestamp();
                }
                seen = Volatile.Read(ref _generation);
                // Claim the post; it may have been revoked, or already run when we saw an older generation.
                if (Interlocked.CompareExchange(ref _state, Taken, Posted) != Posted) continue;
                Exception? failure = null;
                try { s_work!.Execute(_part, s_parts); }
                catch (Exception ex) { failure = ex; }
                Complete(failure);
            }
        }
    }
}
