using System.Runtime.Intrinsics;
using Nn.Simd.Tensors.Kernels;
using Nn.Simd.Tensors.Kernels.Common;
using Nn.Simd.Tensors.Threading;

namespace Nn.Simd.Tensors.Tests;

/// <summary>The shared SIMD helpers: the fast exp, the narrow product and the chunked parallel runner.</summary>
public class CommonKernelTests
{
    private static float[] ExpAll(float[] x)
    {
        var y = new float[x.Length];
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= x.Length; i += 16) FastExp.Exp(Vector512.Create(x.AsSpan(i, 16))).CopyTo(y.AsSpan(i, 16));
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= x.Length; i += 8) FastExp.Exp(Vector256.Create(x.AsSpan(i, 8))).CopyTo(y.AsSpan(i, 8));
        for (; i + 4 <= x.Length; i += 4) FastExp.Exp(Vector128.Create(x.AsSpan(i, 4))).CopyTo(y.AsSpan(i, 4));
        for (; i < x.Length; i++) y[i] = MathF.Exp(x[i]);
        return y;
    }

    [Fact]
    public void FastExp_IsWithinTwoUlp_OverTheNormalRange()
    {
        // Points 0.013 apart from −86.98 (the bottom of the accurate range) to 88.7, plus the boundaries.
        var xs = new List<float> { -86.98f, -86.9f, 0f, -0f, 1e-30f, -1e-30f, 88.72f, 88.7228f };
        for (float v = -86.98f; v < 88.7f; v = MathF.BitIncrement(v) is var n && n > v + 0.013f ? n : v + 0.013f) xs.Add(v);
        var x = xs.ToArray();
        var y = ExpAll(x);
        for (int i = 0; i < x.Length; i++)
        {
            double expected = Math.Exp(x[i]);
            float rounded = (float)expected;
            double ulp = MathF.BitIncrement(rounded) - rounded;
            Assert.True(Math.Abs(y[i] - expected) <= 2 * ulp, $"exp({x[i]:R}) = {y[i]:R}, expected {expected:R}");
        }
    }

    [Fact]
    public void ElementwiseTanhAndSigmoid_Float_AreWithinAFewUlp()
    {
        // Dense points over [−12, 12] (both branches of tanh and the 0.625 switch), tiny values and subnormals, at a
        // length that exercises the vector body and the overlapping last vector.
        var xs = new List<float> { 0f, -0f, 1e-30f, -1e-30f, float.Epsilon, 1e-7f, 0.6249999f, 0.625f, -0.625f, 0.6250001f };
        for (float v = -12f; v <= 12f; v += 0.00731f) xs.Add(v);
        for (float v = 1e-6f; v < 0.7f; v *= 1.01f) { xs.Add(v); xs.Add(-v); }
        var x = xs.ToArray();
        var t = new float[x.Length];
        var s = new float[x.Length];
        Elementwise.Tanh<float>(x, t);
        Elementwise.Sigmoid<float>(x, s);
        double worstT = 0, worstS = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double et = Math.Tanh(x[i]), es = 1 / (1 + Math.Exp(-(double)x[i]));
            // Relative to the float spacing at the exact value: 1 means 1 ulp.
            double ulpT = Math.Max(MathF.BitIncrement(Math.Abs((float)et)) - Math.Abs((float)et), float.Epsilon);
            double ulpS = MathF.BitIncrement((float)es) - (float)es;
            worstT = Math.Max(worstT, Math.Abs(t[i] - et) / ulpT);
            worstS = Math.Max(worstS, Math.Abs(s[i] - es) / ulpS);
            Assert.Equal(Math.Sign(et), Math.Sign(t[i]));
        }
        Assert.True(worstT <= 4, $"tanh: worst error {worstT:F2} ulp");
        Assert.True(worstS <= 4, $"sigmoid: worst error {worstS:F2} ulp");
        var nan = new float[20];
        nan[19] = float.NaN;
        Elementwise.Tanh<float>(nan, nan);
        Assert.True(float.IsNaN(nan[19]) && nan[0] == 0f);
    }

    [Fact]
    public void FastExp_SpecialValues()
    {
        float[] x = [float.NegativeInfinity, -1000f, -104f, -87f, 89f, 1000f, float.PositiveInfinity, float.NaN, 0f, 1f, -1f, 2f, 3f, 4f, 5f, 6f];
        var y = ExpAll(x);
        Assert.Equal(0f, y[0]);
        Assert.Equal(0f, y[1]);
        Assert.Equal(0f, y[2]);
        Assert.Equal(0f, y[3]);   // flushed below the normal range
        Assert.Equal(float.PositiveInfinity, y[4]);
        Assert.Equal(float.PositiveInfinity, y[5]);
        Assert.Equal(float.PositiveInfinity, y[6]);
        Assert.True(float.IsNaN(y[7]));
        Assert.Equal(1f, y[8]);
        Assert.All(y, v => Assert.False(float.IsSubnormal(v)));
    }

    [Theory]
    [InlineData(1, 1, 1), InlineData(7, 5, 256), InlineData(33, 3, 17), InlineData(9, 4, 64), InlineData(5, 9, 100), InlineData(4, 16, 15)]
    public void RowDots_MatchesDoubleReference(int m, int n, int k)
    {
        var rng = new Random(m * 1000 + n * 10 + k);
        float[] a = Enumerable.Range(0, m * k).Select(_ => rng.NextSingle() * 2 - 1).ToArray();
        float[] b = Enumerable.Range(0, n * k).Select(_ => rng.NextSingle() * 2 - 1).ToArray();
        var c = new float[m * n];
        c.AsSpan().Fill(float.NaN);   // overwritten, never read
        RowDots.MultiplyTransposed<float>(a, b, c, m, n, k);
        var cd = new double[m * n];
        RowDots.MultiplyTransposed<double>(a.Select(v => (double)v).ToArray(), b.Select(v => (double)v).ToArray(), cd, m, n, k);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double e = 0;
                for (int p = 0; p < k; p++) e += (double)a[i * k + p] * b[j * k + p];
                Assert.True(Math.Abs(c[i * n + j] - e) <= 1e-5 * (1 + Math.Abs(e)), $"[{i},{j}] {c[i * n + j]} vs {e}");
                Assert.True(Math.Abs(cd[i * n + j] - e) <= 1e-12 * (1 + Math.Abs(e)), $"double [{i},{j}] {cd[i * n + j]} vs {e}");
            }
    }

    [Fact]
    public void RowDots_RowsAreIndependentOfTheRowCount()
    {
        // The same row computed within a large call and alone gives the same bits (callers split rows freely).
        int m = 20, n = 5, k = 77;
        var rng = new Random(3);
        float[] a = Enumerable.Range(0, m * k).Select(_ => rng.NextSingle()).ToArray();
        float[] b = Enumerable.Range(0, n * k).Select(_ => rng.NextSingle()).ToArray();
        var all = new float[m * n];
        RowDots.MultiplyTransposed<float>(a, b, all, m, n, k);
        for (int i = 0; i < m; i++)
        {
            var one = new float[n];
            RowDots.MultiplyTransposed<float>(a.AsSpan(i * k, k), b, one, 1, n, k);
            Assert.True(one.AsSpan().SequenceEqual(all.AsSpan(i * n, n)), $"row {i}");
        }
    }

    [Fact]
    public void RowDots_ThrowsForShortSpans()
    {
        var e = Assert.Throws<ArgumentException>(() => RowDots.MultiplyTransposed<float>(new float[5], new float[6], new float[2], 2, 2, 3));
        Assert.Equal("a", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => RowDots.MultiplyTransposed<float>(new float[6], new float[5], new float[4], 2, 2, 3));
        Assert.Equal("b", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => RowDots.MultiplyTransposed<float>(new float[6], new float[6], new float[3], 2, 2, 3));
        Assert.Equal("c", e.ParamName);
    }
}

/// <summary><see cref="ParallelChunks"/> changes the global degree, so it runs with the other parallelism tests.</summary>
[Collection("Parallelism")]
public class ParallelChunksTests
{
    private sealed class Counting(int chunks) : ParallelChunks
    {
        public readonly int[] Runs = new int[chunks];
        public readonly int[] Threads = new int[chunks];
        protected override void ExecuteChunk(int chunk)
        {
            Interlocked.Increment(ref Runs[chunk]);
            Threads[chunk] = Environment.CurrentManagedThreadId;
            Thread.SpinWait(20000);   // long enough for a worker to join
        }
    }

    [Fact]
    public void EveryChunkRunsExactlyOnce_AtAnyDegree()
    {
        int saved = Parallelism.MaxDegree;
        try
        {
            foreach (int degree in new[] { 1, 2, 3 })
                foreach (int chunks in new[] { 0, 1, 2, 7 })
                {
                    Parallelism.MaxDegree = degree;
                    var work = new Counting(chunks);
                    long before = WorkerPool.ParallelRuns;
                    work.Run(chunks);
                    Assert.All(work.Runs, r => Assert.Equal(1, r));
                    if (degree > 1 && chunks > 1) Assert.True(WorkerPool.ParallelRuns > before, "the pool was not used");
                    // maxThreads = 1 keeps everything on the caller.
                    var serial = new Counting(chunks);
                    serial.Run(chunks, maxThreads: 1);
                    Assert.All(serial.Threads, t => Assert.Equal(Environment.CurrentManagedThreadId, t));
                }
        }
        finally
        {
            Parallelism.MaxDegree = saved;
        }
    }

    [Fact]
    public void BadArguments_Throw()
    {
        var work = new Counting(1);
        Assert.Throws<ArgumentOutOfRangeException>(() => work.Run(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => work.Run(1, maxThreads: 0));
    }
}
