using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;
using Nn.Simd.Tensors.Threading;

namespace Nn.Simd.Benchmarks;

/// <summary>
/// The machine's fused multiply-add peak: 16 independent FMA chains (enough to cover two FMA pipes of 4-cycle
/// latency) on <c>Vector512</c> and <c>Vector256</c>, on 1 and 2 threads. Every GEMM figure is read as a
/// fraction of the <c>Vector512</c> row at the same thread count.
/// </summary>
/// <remarks>
/// The second thread comes from Nn.Simd's own worker pool (the one the GEMM uses), so the 2-thread row is
/// the best case for a split GEMM. Each thread runs <see cref="Iterations"/> iterations of 16 FMAs.
/// </remarks>
[Config(typeof(GflopsConfig))]
[MemoryDiagnoser]
[JsonExporterAttribute.Full]
public class PeakBenchmarks
{
    /// <summary>Loop iterations per thread and invocation (about half a millisecond at the peak).</summary>
    public const int Iterations = 100_000;

    private const double Flops512 = 2.0 * Iterations * 16 * 16;   // 16 chains × 16 float lanes × 2
    private const double Flops256 = 2.0 * Iterations * 16 * 8;

    private readonly ChainWork _work512 = new(wide: true), _work256 = new(wide: false);

    [Params(1, 2)]
    public int Threads { get; set; }

    [Benchmark(Baseline = true)]
    [GemmFlops(Flops512)]
    public float Fma_Vector512() => Run(_work512);

    [Benchmark]
    [GemmFlops(Flops256)]
    public float Fma_Vector256() => Run(_work256);

    private float Run(ChainWork work)
    {
        work.Reset(Threads);
        if (Threads == 1)
        {
            work.Execute(0, 1);
        }
        else
        {
            if (!WorkerPool.TryEnter()) throw new InvalidOperationException("The worker pool is busy.");
            WorkerPool.Run(work, Threads);
        }
        return work.Sink;
    }

    // `units` chain loops per invocation, taken from a counter: a worker that never gets a core leaves its unit
    // to the caller (the pool takes back unstarted posts), so the FLOPs done per invocation are always the same.
    private sealed class ChainWork(bool wide) : IParallelWork
    {
        private int _units, _next;
        public float Sink;

        public void Reset(int units)
        {
            _units = units;
            _next = 0;
        }

        public void Execute(int part, int parts)
        {
            while (Interlocked.Increment(ref _next) <= _units)
                Sink = wide ? Chains512(Iterations) : Chains256(Iterations);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chains512(int iterations)
    {
        Vector512<float> m = Vector512.Create(0.999f), d = Vector512.Create(0.001f);
        Vector512<float> a0 = Vector512<float>.One, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        Vector512<float> a8 = a0, a9 = a0, a10 = a0, a11 = a0, a12 = a0, a13 = a0, a14 = a0, a15 = a0;
        for (int i = 0; i < iterations; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, m, d); a1 = Vector512.FusedMultiplyAdd(a1, m, d);
            a2 = Vector512.FusedMultiplyAdd(a2, m, d); a3 = Vector512.FusedMultiplyAdd(a3, m, d);
            a4 = Vector512.FusedMultiplyAdd(a4, m, d); a5 = Vector512.FusedMultiplyAdd(a5, m, d);
            a6 = Vector512.FusedMultiplyAdd(a6, m, d); a7 = Vector512.FusedMultiplyAdd(a7, m, d);
            a8 = Vector512.FusedMultiplyAdd(a8, m, d); a9 = Vector512.FusedMultiplyAdd(a9, m, d);
            a10 = Vector512.FusedMultiplyAdd(a10, m, d); a11 = Vector512.FusedMultiplyAdd(a11, m, d);
            a12 = Vector512.FusedMultiplyAdd(a12, m, d); a13 = Vector512.FusedMultiplyAdd(a13, m, d);
            a14 = Vector512.FusedMultiplyAdd(a14, m, d); a15 = Vector512.FusedMultiplyAdd(a15, m, d);
        }
        return Vector512.Sum(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)) + ((a12 + a13) + (a14 + a15)));
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chains256(int iterations)
    {
        Vector256<float> m = Vector256.Create(0.999f), d = Vector256.Create(0.001f);
        Vector256<float> a0 = Vector256<float>.One, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        Vector256<float> a8 = a0, a9 = a0, a10 = a0, a11 = a0, a12 = a0, a13 = a0, a14 = a0, a15 = a0;
        for (int i = 0; i < iterations; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, m, d); a1 = Vector256.FusedMultiplyAdd(a1, m, d);
            a2 = Vector256.FusedMultiplyAdd(a2, m, d); a3 = Vector256.FusedMultiplyAdd(a3, m, d);
            a4 = Vector256.FusedMultiplyAdd(a4, m, d); a5 = Vector256.FusedMultiplyAdd(a5, m, d);
            a6 = Vector256.FusedMultiplyAdd(a6, m, d); a7 = Vector256.FusedMultiplyAdd(a7, m, d);
            a8 = Vector256.FusedMultiplyAdd(a8, m, d); a9 = Vector256.FusedMultiplyAdd(a9, m, d);
            a10 = Vector256.FusedMultiplyAdd(a10, m, d); a11 = Vector256.FusedMultiplyAdd(a11, m, d);
            a12 = Vector256.FusedMultiplyAdd(a12, m, d); a13 = Vector256.FusedMultiplyAdd(a13, m, d);
            a14 = Vector256.FusedMultiplyAdd(a14, m, d); a15 = Vector256.FusedMultiplyAdd(a15, m, d);
        }
        return Vector256.Sum(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)) + ((a12 + a13) + (a14 + a15)));
    }
}
