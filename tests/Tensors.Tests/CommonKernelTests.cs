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

    /// <summary>Inputs for the capped exp and the gate activations: a sweep over [−100, 100], the clamp ends for
    /// k = 1, −1 and −2 and one float either side of them, and the special values.</summary>
    private static float[] GateInputs()
    {
        var xs = new List<float> { 0f, -0f, float.Epsilon, -float.Epsilon, 1e-30f, -1e-30f, float.MaxValue, float.MinValue,
            float.PositiveInfinity, float.NegativeInfinity, float.NaN };
        foreach (float edge in new[] { 87f, -86.5f, -87f, 86.5f, -43.5f, 43.25f, 43.5f, -43.25f })
            xs.AddRange([MathF.BitDecrement(edge), edge, MathF.BitIncrement(edge)]);
        for (float v = -100f; v <= 100f; v += 0.00917f) xs.Add(v);
        while (xs.Count % 16 != 0) xs.Add(0.5f);
        return xs.ToArray();
    }

    [Theory]
    [InlineData(-1f)]
    [InlineData(-2f)]
    public void FastExpCappedScaled_IsBitwiseExpCappedOfTheScaledInput(float k)
    {
        // The folded form exists to save the multiply; it must not change a single result.
        // Without AVX-512 the folded form is not compiled in: ExpCappedScaled is then ExpCapped(k·x) by definition.
        if (!Vector512.IsHardwareAccelerated) return;
        var x = GateInputs();
        for (int i = 0; i < x.Length; i += 16)
        {
            var v = Vector512.Create(x.AsSpan(i, 16));
            var folded = FastExp.ExpCappedScaled(v, k);
            var plain = FastExp.ExpCapped(v * k);
            for (int j = 0; j < 16; j++)
                Assert.True(BitConverter.SingleToInt32Bits(folded[j]) == BitConverter.SingleToInt32Bits(plain[j]) || (float.IsNaN(folded[j]) && float.IsNaN(plain[j])),
                    $"k = {k}, x = {x[i + j]:R}: folded {folded[j]:R}, plain {plain[j]:R}");
        }
    }

    [Fact]
    public void GateSigmoidAndTanh_AreWithinTheirStatedErrors_AtEveryWidth()
    {
        // The fused gate kernels' activations: both within 1e−7 absolute (the old forms measured 1.4e−7), sigmoid's
        // relative error under (|x| + 4)·1.2e−7 (the rounding of x·log2 e grows with |x|; the element-wise sigmoid is
        // held to 4 ulp below), both never NaN for a number and NaN for NaN, and every width giving the same bits.
        var x = GateInputs();
        var s512 = new float[x.Length]; var t512 = new float[x.Length];
        var s256 = new float[x.Length]; var t256 = new float[x.Length];
        var s1 = new float[x.Length]; var t1 = new float[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            s1[i] = SimdMath.Sigmoid<SimdScalar<float>, float, float>(x[i]);
            t1[i] = SimdMath.Tanh<SimdScalar<float>, float, float>(x[i]);
        }
        for (int i = 0; i + 8 <= x.Length; i += 8)
        {
            SimdMath.Sigmoid<Simd256<float>, Vector256<float>, float>(Vector256.Create(x.AsSpan(i, 8))).CopyTo(s256.AsSpan(i));
            SimdMath.Tanh<Simd256<float>, Vector256<float>, float>(Vector256.Create(x.AsSpan(i, 8))).CopyTo(t256.AsSpan(i));
        }
        for (int i = 0; i + 4 <= x.Length; i += 4)
        {
            // Four lanes run as half of an eight-lane call: the same bits.
            var s128 = SimdMath.Sigmoid<Simd128<float>, Vector128<float>, float>(Vector128.Create(x.AsSpan(i, 4)));
            var t128 = SimdMath.Tanh<Simd128<float>, Vector128<float>, float>(Vector128.Create(x.AsSpan(i, 4)));
            for (int j = 0; j < 4; j++)
                Assert.True(s128[j].Equals(s256[i + j]) && t128[j].Equals(t256[i + j]), $"128-bit lanes at {x[i + j]:R}");
        }
        if (Vector512.IsHardwareAccelerated)
            for (int i = 0; i + 16 <= x.Length; i += 16)
            {
                SimdMath.Sigmoid<Simd512<float>, Vector512<float>, float>(Vector512.Create(x.AsSpan(i, 16))).CopyTo(s512.AsSpan(i));
                SimdMath.Tanh<Simd512<float>, Vector512<float>, float>(Vector512.Create(x.AsSpan(i, 16))).CopyTo(t512.AsSpan(i));
            }
        else { s256.CopyTo(s512, 0); t256.CopyTo(t512, 0); }
        for (int i = 0; i < x.Length; i++)
        {
            if (float.IsNaN(x[i]))
            {
                Assert.True(float.IsNaN(s512[i]) && float.IsNaN(t512[i]) && float.IsNaN(s256[i]) && float.IsNaN(t256[i]));
                continue;
            }
            double es = 1 / (1 + Math.Exp(-(double)x[i])), et = Math.Tanh(x[i]);
            double ulpS = Math.Max(MathF.BitIncrement((float)es) - (float)es, 1e-45);
            foreach (var (s, t, width) in new[] { (s512, t512, "512"), (s256, t256, "256") })
            {
                double relative = (Math.Min(Math.Abs(x[i]), 87) + 4) * 1.2e-7;
                Assert.True(Math.Abs(s[i] - es) <= 1e-7 && (Math.Abs(s[i] - es) <= relative * es || Math.Abs(s[i] - es) < 2e-38),
                    $"sigmoid{width}({x[i]:R}) = {s[i]:R}, expected {es:R}");
                Assert.True(Math.Abs(t[i] - et) <= 1e-7, $"tanh{width}({x[i]:R}) = {t[i]:R}, expected {et:R}");
                Assert.InRange(t[i], -1f, 1f);
            }
            Assert.Equal(s512[i], s256[i]);
            Assert.Equal(t512[i], t256[i]);
            // The scalar tails use T.Exp and a division: close to the vector lanes, not bitwise.
            Assert.True(Math.Abs(t1[i] - et) <= 1e-7 && Math.Abs(s1[i] - es) <= (Math.Min(Math.Abs(x[i]), 87) + 4) * 1.2e-7 * es + 2e-38,
                $"scalar at {x[i]:R}");
        }
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

    [Theory]
    [InlineData(1, 1, 1), InlineData(6, 512, 300), InlineData(5, 80, 61), InlineData(7, 200, 33), InlineData(24, 70, 9),
     InlineData(2, 7, 50), InlineData(3, 16, 0), InlineData(13, 129, 17)]
    public void ColumnDots_MatchesDoubleReference(int m, int n, int k)
    {
        // C = Aᵀ·B for A [k, m], B [k, n]: four-vector blocks, single vectors (512 and 256 bits) and scalar columns,
        // one to three rows of C per pass, and k = 0 (C is zero).
        var rng = new Random(m * 1000 + n * 10 + k);
        float[] a = Enumerable.Range(0, k * m).Select(_ => rng.NextSingle() * 2 - 1).ToArray();
        float[] b = Enumerable.Range(0, k * n).Select(_ => rng.NextSingle() * 2 - 1).ToArray();
        var c = new float[m * n];
        c.AsSpan().Fill(float.NaN);   // overwritten, never read
        ColumnDots.TransposeMultiply<float>(a, b, c, m, n, k, 0, n);
        var cd = new double[m * n];
        ColumnDots.TransposeMultiply<double>(a.Select(v => (double)v).ToArray(), b.Select(v => (double)v).ToArray(), cd, m, n, k, 0, n);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double e = 0;
                for (int p = 0; p < k; p++) e += (double)a[p * m + i] * b[p * n + j];
                Assert.True(Math.Abs(c[i * n + j] - e) <= 1e-5 * (1 + Math.Abs(e)), $"[{i},{j}] {c[i * n + j]} vs {e}");
                Assert.True(Math.Abs(cd[i * n + j] - e) <= 1e-12 * (1 + Math.Abs(e)), $"double [{i},{j}] {cd[i * n + j]} vs {e}");
            }
    }

    [Fact]
    public void ColumnDots_ColumnRanges_GiveTheSameBitsAsOneCall_AndTouchNothingElse()
    {
        // Callers split C's columns across threads: any split must give the bits of the whole call (each element is
        // one chain in row order, in a vector lane or a scalar alike), and a range must leave the other columns alone.
        int m = 6, n = 150, k = 97;
        var rng = new Random(5);
        float[] a = Enumerable.Range(0, k * m).Select(_ => rng.NextSingle() * 2 - 1).ToArray();
        float[] b = Enumerable.Range(0, k * n).Select(_ => rng.NextSingle() * 2 - 1).ToArray();
        var whole = new float[m * n];
        ColumnDots.TransposeMultiply<float>(a, b, whole, m, n, k, 0, n);
        foreach (int[] cuts in new[] { new[] { 0, 64, 128, 150 }, new[] { 0, 1, 17, 33, 149, 150 }, new[] { 0, 75, 150 } })
        {
            var split = new float[m * n];
            split.AsSpan().Fill(-7f);
            for (int s = 0; s + 1 < cuts.Length; s++)
            {
                ColumnDots.TransposeMultiply<float>(a, b, split, m, n, k, cuts[s], cuts[s + 1]);
                for (int i = 0; i < m; i++)   // nothing beyond this range written yet
                    for (int j = cuts[s + 1]; j < n; j++) Assert.Equal(-7f, split[i * n + j]);
            }
            Assert.True(split.AsSpan().SequenceEqual(whole), $"split at {string.Join(", ", cuts)}");
        }
    }

    [Fact]
    public void ColumnDots_RejectsBadArguments_NamingThem()
    {
        var e = Assert.Throws<ArgumentException>(() => ColumnDots.TransposeMultiply<float>(new float[5], new float[6], new float[4], 2, 2, 3, 0, 2));
        Assert.Equal("a", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => ColumnDots.TransposeMultiply<float>(new float[6], new float[5], new float[4], 2, 2, 3, 0, 2));
        Assert.Equal("b", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => ColumnDots.TransposeMultiply<float>(new float[6], new float[6], new float[3], 2, 2, 3, 0, 2));
        Assert.Equal("c", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => ColumnDots.TransposeMultiply<float>(new float[6], new float[6], new float[4], 2, 2, 3, 1, 3));
        Assert.Contains("[1, 3)", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => ColumnDots.TransposeMultiply<float>(new float[25], new float[1], new float[25], 25, 1, 1, 0, 1));
    }
}
