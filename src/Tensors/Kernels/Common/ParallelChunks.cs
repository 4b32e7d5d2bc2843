using Nn.Simd.Tensors.Threading;

namespace Nn.Simd.Tensors.Kernels;

/// <summary>
/// Work cut into independent chunks, run on up to <see cref="Parallelism.MaxDegree"/> threads of the library's
/// persistent worker pool (the one the GEMM uses). A layer derives from it once, keeps the instance, and calls
/// <see cref="Run"/> as often as it likes: a steady-state call allocates nothing.
/// </summary>
/// <remarks>
/// <para>Threads take chunks from a shared counter, so every chunk runs exactly once, and a thread that gets no core
/// (the machine is shared) delays only the chunk it holds while the others finish the rest. The calling thread
/// always takes part and can finish everything alone: when the pool is busy (a kernel called from inside a
/// chunk, or another thread holding it) the chunks simply run in order on the caller.</para>
/// <para>Results must not depend on which thread ran a chunk: write chunks that touch disjoint outputs and compute
/// each element the same way whatever the split. A recurrent layer, for example, gives each chunk a block of batch
/// rows and runs the whole time loop for them, which is bitwise the same at any thread count.</para>
/// <para>One <see cref="Run"/> at a time per instance; chunks must not call <see cref="Run"/> on the same instance.
/// An exception thrown by a chunk on a worker reaches the caller wrapped in an <see cref="AggregateException"/>.</para>
/// </remarks>
public abstract class ParallelChunks : IParallelWork
{
    private int _chunks, _next;

    /// <summary>Runs one chunk; called exactly once per chunk index of a <see cref="Run"/>, possibly on another thread.</summary>
    /// <param name="chunk">The chunk index, 0 ≤ chunk &lt; the count given to <see cref="Run"/>.</param>
    protected abstract void ExecuteChunk(int chunk);

    /// <summary>Runs chunks <c>0 .. chunks−1</c> and returns when all are done.</summary>
    /// <param name="chunks">The number of chunks; 0 does nothing.</param>
    /// <param name="maxThreads">The most threads to use; it is further capped by <see cref="Parallelism.MaxDegree"/>
    /// and by <paramref name="chunks"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="chunks"/> is negative or <paramref name="maxThreads"/> is less than 1.</exception>
    public void Run(int chunks, int maxThreads = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(chunks);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxThreads, 1);
        int parts = Math.Min(Math.Min(maxThreads, Parallelism.MaxDegree), chunks);
        if (parts > 1 && WorkerPool.TryEnter())
        {
            _chunks = chunks;
            _next = 0;
            WorkerPool.Run(this, parts);
            return;
        }
        for (int c = 0; c < chunks; c++) ExecuteChunk(c);
    }

    void IParallelWork.Execute(int part, int parts)
    {
        int chunk;
        while ((chunk = Interlocked.Increment(ref _next) - 1) < _chunks) ExecuteChunk(chunk);
    }
}
