using System.Numerics;
using System.Runtime.Intrinsics;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Tensors.Tests;

/// <summary>Operands for one GEMM test case, with NaN in every padding element so that reading it shows.</summary>
internal sealed class GemmOperands<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public bool TransA, TransB;
    public int M, N, K, Lda, Ldb, Ldc;
    public T Alpha, Beta;
    public T[] A = [], B = [], C = [];

    public static GemmOperands<T> Create(bool transA, bool transB, int m, int n, int k, double alpha, double beta,
        int seed, int padA = 0, int padB = 0, int padC = 0, bool nanInC = false)
    {
        var rng = new Random(seed);
        var o = new GemmOperands<T>
        {
            TransA = transA, TransB = transB, M = m, N = n, K = k,
            Alpha = T.CreateChecked(alpha), Beta = T.CreateChecked(beta),
        };
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        o.Lda = Math.Max(1, aCols) + padA;
        o.Ldb = Math.Max(1, bCols) + padB;
        o.Ldc = Math.Max(1, n) + padC;
        o.A = Fill(rng, aRows, aCols, o.Lda, nan: false);
        o.B = Fill(rng, bRows, bCols, o.Ldb, nan: false);
        o.C = Fill(rng, m, n, o.Ldc, nan: nanInC);
        return o;
    }

    // Values in [-1, 1); padding (columns past cols in each row) is NaN.
    private static T[] Fill(Random rng, int rows, int cols, int ld, bool nan)
    {
        var x = new T[Math.Max(0, rows * ld)];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < ld; j++)
                x[i * ld + j] = j >= cols || nan ? T.NaN : T.CreateChecked(rng.NextDouble() * 2 - 1);
        return x;
    }

    public T[] RunCompute()
    {
        var c = (T[])C.Clone();
        Gemm.Compute(TransA, TransB, M, N, K, Alpha, A, Lda, B, Ldb, Beta, c, Ldc);
        return c;
    }

    public T[] RunPacked()
    {
        var c = (T[])C.Clone();
        var packed = Gemm.Pack<T>(TransB, K, N, B, Ldb);
        Gemm.Compute(TransA, M, Alpha, A, Lda, packed, Beta, c, Ldc);
        return c;
    }

    public string Describe() =>
        $"op(A)·op(B) with transA={TransA}, transB={TransB}, m={M}, n={N}, k={K}, lda={Lda}, ldb={Ldb}, ldc={Ldc}, alpha={Alpha}, beta={Beta}";

    /// <summary>
    /// Checks <paramref name="actual"/> against the reference computed in double. Each element may differ by
    /// (k + 2)·ε·(|alpha|·Σ_p |a_ip·b_pj| + |beta·c_ij|) + a tiny absolute floor: the worst-case rounding bound
    /// of a length-k dot product, relative to the size of the terms, so it grows with K. Padding in C must be
    /// untouched. A failure names the shape, the worst index and the largest difference.
    /// </summary>
    public void AssertMatchesReference(T[] actual)
    {
        double[] Cast(T[] x) => Array.ConvertAll(x, v => double.CreateChecked(v));
        double[] Abs(T[] x) => Array.ConvertAll(x, v => Math.Abs(double.CreateChecked(v)));
        double alpha = double.CreateChecked(Alpha), beta = double.CreateChecked(Beta);
        var expected = Cast(C);
        Gemm.Reference(TransA, TransB, M, N, K, alpha, Cast(A), Lda, Cast(B), Ldb, beta, expected, Ldc);
        var magnitude = beta == 0 ? new double[C.Length] : Abs(C);
        Gemm.Reference(TransA, TransB, M, N, K, Math.Abs(alpha), Abs(A), Lda, Abs(B), Ldb, Math.Abs(beta), magnitude, Ldc);

        double eps = Epsilon;
        double worstRatio = 0, worstDiff = 0;
        int worstI = -1, worstJ = -1;
        for (int i = 0; i < M; i++)
        {
            for (int j = 0; j < N; j++)
            {
                int idx = i * Ldc + j;
                double e = expected[idx], a = double.CreateChecked(actual[idx]);
                double bound = (K + 2) * eps * magnitude[idx] + 1e-30;
                double diff = Math.Abs(e - a);
                if (double.IsNaN(diff)) diff = double.PositiveInfinity;
                worstDiff = Math.Max(worstDiff, diff);
                double ratio = diff / bound;
                if (ratio > worstRatio || (worstI < 0 && ratio >= worstRatio)) { worstRatio = ratio; worstI = i; worstJ = j; }
            }
            for (int j = N; j < Ldc && i * Ldc + j < C.Length; j++)
            {
                int idx = i * Ldc + j;
                Assert.True(T.IsNaN(actual[idx]), $"{Describe()}: padding C[{i}, {j}] was written ({actual[idx]}).");
            }
        }
        if (worstRatio > 1)
        {
            int idx = worstI * Ldc + worstJ;
            Assert.Fail($"{Describe()}: worst at C[{worstI}, {worstJ}]: expected {expected[idx]:G17}, actual {actual[idx]}, " +
                        $"|diff| {Math.Abs(expected[idx] - double.CreateChecked(actual[idx])):G4} is {worstRatio:G4}× the bound; largest |diff| {worstDiff:G4}.");
        }
    }

    private static double Epsilon => typeof(T) == typeof(float) ? Math.Pow(2, -24) : Math.Pow(2, -53);
}

internal static class GemmTestSupport
{
    /// <summary>The paths this CPU runs in hardware (the portable one always counts).</summary>
    public static IEnumerable<GemmIsa> HardwarePaths()
    {
        if (Vector512.IsHardwareAccelerated) yield return GemmIsa.Vector512;
        if (Vector256.IsHardwareAccelerated) yield return GemmIsa.Vector256;
        yield return GemmIsa.Vector128;
    }

    /// <summary>Runs <paramref name="body"/> with the GEMM path forced on this thread.</summary>
    public static void WithPath(GemmIsa isa, Action body)
    {
        var saved = Gemm.ForcedIsa;
        Gemm.ForcedIsa = isa;
        try { body(); }
        finally { Gemm.ForcedIsa = saved; }
    }

    public static void AssertBitwiseEqual<T>(T[] expected, T[] actual, string what) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            bool same = expected[i].Equals(actual[i]) || (T.IsNaN(expected[i]) && T.IsNaN(actual[i]));
            if (!same) Assert.Fail($"{what}: element {i} differs: {expected[i]} vs {actual[i]}.");
        }
    }
}
