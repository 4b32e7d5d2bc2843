using System.Numerics;
using Nn.Simd.Tensors.Kernels;
using Nn.Simd.Tensors.Threading;

namespace Nn.Simd.Tensors.Tests;

/// <summary>Tests that change process-wide settings (<see cref="Parallelism.MaxDegree"/>) run alone.</summary>
[CollectionDefinition("Parallelism", DisableParallelization = true)]
public sealed class ParallelismCollection;

/// <summary>Results must be bitwise identical at any thread count, split or not.</summary>
[Collection("Parallelism")]
public class GemmParallelTests
{
    private static readonly (bool, bool)[] Transposes = [(false, false), (false, true), (true, false), (true, true)];

    [Fact]
    public void ThreadCount_GivesBitwiseIdenticalResults()
    {
        // Shapes over and under the split threshold, n not a multiple of any panel width, k over one block.
        // Narrow C (fewer column panels than threads) is split over rows: one vector wide, under one vector, a full
        // panel and a narrow edge, and m = 9 (a row chunk of one row).
        (int m, int n, int k)[] shapes = [(50, 517, 300), (9, 70, 33), (1, 1000, 20), (300, 16, 9), (9, 16, 600), (130, 7, 40), (70, 40, 300)];
        foreach (var isa in GemmTestSupport.HardwarePaths())
        {
            GemmTestSupport.WithPath(isa, () =>
            {
                int seed = 20;
                foreach (var (m, n, k) in shapes)
                {
                    foreach (var (ta, tb) in Transposes)
                    {
                        CheckThreadCounts(GemmOperands<float>.Create(ta, tb, m, n, k, 0.5, 0.25, seed++, padA: 1, padC: 2), isa);
                        CheckThreadCounts(GemmOperands<double>.Create(ta, tb, m, n, k, 1, 0, seed++, nanInC: true), isa);
                    }
                }
            });
        }
    }

    [Fact]
    public void NarrowPanel_MatchesTheSameColumnsOfAWideProduct()
    {
        // C's first n columns do not depend on how many columns follow: a one-vector-wide (or narrower) last panel runs
        // the one-vector kernel, a wide C the two-vector one, and the two must round alike.
        foreach (var isa in GemmTestSupport.HardwarePaths())
        {
            GemmTestSupport.WithPath(isa, () =>
            {
                int seed = 70;
                foreach (int n in new[] { 16, 8, 5 })
                    foreach (var (ta, tb) in Transposes)
                    {
                        var wide = GemmOperands<float>.Create(ta, tb, 37, 48, 300, 0.5, 0.25, seed++);
                        var narrow = GemmOperands<float>.Create(ta, tb, 37, n, 300, 0.5, 0.25, seed);
                        // The narrow operands: A and the first n columns of op(B) and C of the wide ones.
                        narrow.A = wide.A;
                        for (int p = 0; p < 300; p++)
                            for (int j = 0; j < n; j++)
                                narrow.B[tb ? j * narrow.Ldb + p : p * narrow.Ldb + j] = wide.B[tb ? j * wide.Ldb + p : p * wide.Ldb + j];
                        for (int i = 0; i < 37; i++)
                            for (int j = 0; j < n; j++) narrow.C[i * narrow.Ldc + j] = wide.C[i * wide.Ldc + j];
                        float[] w = wide.RunCompute(), c = narrow.RunCompute();
                        for (int i = 0; i < 37; i++)
                            for (int j = 0; j < n; j++)
                                Assert.True(BitConverter.SingleToInt32Bits(w[i * wide.Ldc + j]) == BitConverter.SingleToInt32Bits(c[i * narrow.Ldc + j]),
                                    $"{isa}, n={n}, ({i}, {j}): {c[i * narrow.Ldc + j]} vs {w[i * wide.Ldc + j]} ({narrow.Describe()})");
                    }
            });
        }
    }

    private static void CheckThreadCounts<T>(GemmOperands<T> o, GemmIsa isa) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int savedDegree = Parallelism.MaxDegree;
        long savedThreshold = Gemm.ParallelMinFlops;
        try
        {
            Parallelism.MaxDegree = 1;
            T[] serial = o.RunCompute();
            // Correctness itself is the property tests' job; check the serial result once per shape here.
            if (isa == Gemm.BestIsa && o.TransA && o.TransB) o.AssertMatchesReference(serial);
            Gemm.ParallelMinFlops = 0;                    // split even the small shapes
            foreach (int degree in new[] { 2, 3 })
            {
                Parallelism.MaxDegree = degree;
                long runs = WorkerPool.ParallelRuns;
                T[] parallel = o.RunCompute();
                Assert.True(WorkerPool.ParallelRuns > runs, $"{degree} threads: the call was not split ({o.Describe()}).");
                GemmTestSupport.AssertBitwiseEqual(serial, parallel, $"{isa}, {degree} threads vs 1, {o.Describe()}");
                GemmTestSupport.AssertBitwiseEqual(serial, o.RunPacked(), $"{isa}, packed at {degree} threads vs unpacked at 1, {o.Describe()}");
            }
        }
        finally
        {
            Parallelism.MaxDegree = savedDegree;
            Gemm.ParallelMinFlops = savedThreshold;
        }
    }

    [Fact]
    public void ConcurrentCallers_GetCorrectResults()
    {
        // Several threads multiplying at once: one holds the worker pool, the others run alone. All results
        // must equal the serial ones bitwise.
        int savedDegree = Parallelism.MaxDegree;
        long savedThreshold = Gemm.ParallelMinFlops;
        try
        {
            Parallelism.MaxDegree = 2;
            Gemm.ParallelMinFlops = 0;
            var ops = Enumerable.Range(0, 4).Select(i => GemmOperands<float>.Create(i % 2 == 1, i >= 2, 37 + i, 200 + 17 * i, 150, 1, 0.5, seed: 40 + i)).ToArray();
            var expected = ops.Select(o => { o.AssertMatchesReference(o.RunCompute()); return o.RunCompute(); }).ToArray();
            var threads = new Thread[ops.Length];
            var failures = new Exception?[ops.Length];
            for (int t = 0; t < threads.Length; t++)
            {
                int id = t;
                threads[t] = new Thread(() =>
                {
                    try
                    {
                        for (int rep = 0; rep < 20; rep++)
                            GemmTestSupport.AssertBitwiseEqual(expected[id], ops[id].RunCompute(), $"caller {id}, repetition {rep}");
                    }
                    catch (Exception ex) { failures[id] = ex; }
                });
                threads[t].Start();
            }
            foreach (var thread in threads) thread.Join();
            foreach (var failure in failures)
                if (failure is not null) throw failure;
        }
        finally
        {
            Parallelism.MaxDegree = savedDegree;
            Gemm.ParallelMinFlops = savedThreshold;
        }
    }

    [Fact]
    public void WorkerPool_PropagatesExceptions_AndStaysUsable()
    {
        var failing = new ThrowingWork();
        Assert.True(WorkerPool.TryEnter());
        var ex = Assert.Throws<AggregateException>(() => WorkerPool.Run(failing, 2));
        Assert.IsType<InvalidOperationException>(ex.InnerException);

        var counting = new CountingWork();
        Assert.True(WorkerPool.TryEnter());
        WorkerPool.Run(counting, 3);
        Assert.Equal(CountingWork.Items, counting.Done);
    }

    private sealed class ThrowingWork : IParallelWork
    {
        public void Execute(int part, int parts) => throw new InvalidOperationException($"part {part} of {parts}");
    }

    // Parts share items through a counter, as the GEMM does; whichever parts run, all items get done once.
    private sealed class CountingWork : IParallelWork
    {
        public const int Items = 1000;
        private int _next;
        public int Done;

        public void Execute(int part, int parts)
        {
            while (Interlocked.Increment(ref _next) <= Items)
                Interlocked.Increment(ref Done);
        }
    }
}
